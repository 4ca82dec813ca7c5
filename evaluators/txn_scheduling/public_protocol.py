"""The public ADRS transaction-scheduling protocol: its three workloads, as instances.

The public benchmark (skydiscover `benchmarks/ADRS/txn_scheduling`, scored by the
ADRS leaderboard's `problems/txn_scheduling`) schedules three fixed workloads of 100
transactions each, written as operation strings (`"w-17 r-5 *"`). An instance carries
every operation string, so the sandbox, which cannot read the user's data folder,
rebuilds the transactions from the instance alone.

A policy written for the task's own splits runs unchanged here: `public_txns` gives it
the usual `{"id", "reads", "writes", "duration"}` dicts (a key both read and written is
listed under `writes`, the side it conflicts as; the duration is the operation count)
plus `ops`, the operation list the public model times. Its oracle simulates the public
model (`public_simulator.py`).
"""

from __future__ import annotations

import json
from typing import Any

from evoforge.public_data import public_file

DATA = "adrs_public/txn_workloads.json"


def public_instances() -> list[dict[str, Any]]:
    """The three public workloads in the public order, from the user's copy of the data."""
    workloads = json.loads(public_file(DATA).read_text("utf-8"))
    return [
        {
            "id": name,
            "protocol": "public",
            "n": len(txns),
            # The public simulator numbers transactions by their order in the file.
            "ops": [ops.split(" ") for ops in txns.values()],
        }
        for name, txns in workloads.items()
    ]


def is_public(instance: Any) -> bool:
    return isinstance(instance, dict) and instance.get("protocol") == "public"


def public_txns(instance: dict[str, Any]) -> list[dict[str, Any]]:
    """The task's transaction dicts for one public workload, with its `ops` kept."""
    txns: list[dict[str, Any]] = []
    for txn_id, ops in enumerate(instance["ops"]):
        ops = [str(op) for op in ops]
        writes = {int(op[2:]) for op in ops if op.startswith("w-")}
        reads = {int(op[2:]) for op in ops if op.startswith("r-")} - writes
        txns.append(
            {
                "id": txn_id,
                "reads": sorted(reads),
                "writes": sorted(writes),
                "duration": len(ops),
                "ops": ops,
            }
        )
    return txns
