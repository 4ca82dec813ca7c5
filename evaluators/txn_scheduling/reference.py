"""The main baseline's makespan per instance: the yardstick every score divides by.

Scoring divides the `greedy_sampling` baseline's makespan by the candidate's, so the
baseline's figures are stored (`baseline_scores.json`, keyed by instance id, with the
spec they were measured on) instead of re-running the baseline in every evaluation.
An instance missing from the table, or whose spec differs from the stored one, is
measured on the spot with the same code, so custom instances still score correctly.

`python -m evoforge.evaluators.txn_scheduling.reference` rewrites the table; the tests
recompute it to prove it is current.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from evoforge.evaluators.loading import load_program

from .oracle import PENALTY
from .runner import Run, run_policy
from .workload import SPLITS, Spec, make_instance

HERE = Path(__file__).parent
TABLE_PATH = HERE / "baseline_scores.json"
MAIN_BASELINE = "greedy_sampling"
MAIN_BASELINE_FILE = HERE / "baseline_greedy_sampling.py"


@cache
def _baseline_module() -> Any:
    return load_program(MAIN_BASELINE_FILE)


@cache
def load_table() -> dict[str, dict[str, Any]]:
    if not TABLE_PATH.exists():
        return {}
    return json.loads(TABLE_PATH.read_text("utf-8"))


def measure(spec: Spec, txns: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The baseline on one instance; its score is 1 minus its own compute penalty."""
    run = run_policy(_baseline_module(), txns if txns is not None else make_instance(spec))
    if not isinstance(run, Run):
        raise RuntimeError(f"{spec['id']}: the {MAIN_BASELINE} baseline failed: {run}")
    fraction = run.used / run.budget
    return {
        "spec": spec,
        "makespan": run.simulation.makespan,
        "oracle_used": run.used,
        "score": 1.0 - PENALTY * fraction,
    }


def prepare(specs: list[Spec]) -> None:
    """Read what `entry` will need for these specs (the table, and the baseline where a
    spec is not in it) now, before a candidate's process exists."""
    table = load_table()
    if any(table.get(str(spec["id"]), {}).get("spec") != spec for spec in specs):
        _baseline_module()


def entry(spec: Spec, txns: list[dict[str, Any]]) -> dict[str, Any]:
    """The stored entry for this exact spec, else a fresh measurement."""
    stored = load_table().get(str(spec["id"]))
    if stored is not None and stored["spec"] == spec:
        return stored
    return measure(spec, txns)


def compute_table() -> dict[str, dict[str, Any]]:
    return {str(spec["id"]): measure(spec) for specs in SPLITS.values() for spec in specs}


def main() -> None:
    TABLE_PATH.write_text(json.dumps(compute_table(), indent=1) + "\n", "utf-8")
    print(f"wrote {TABLE_PATH}")


if __name__ == "__main__":
    main()
