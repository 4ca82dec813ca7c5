"""The public Can't Be Late (single region) scenarios, as plain instances.

The ADRS leaderboard scores a policy on 180 windows of six real AWS traces (30 each)
times deadlines 52 h and 70 h times restart overheads 0.02, 0.05 and 0.10 h, a 48 h
job: 1,080 scenarios. `spot_traces/leaderboard_windows.json` names each window as a
tick range of a raw trace, so the windows are cut here from the raw traces; evoforge
never ships either. Each instance carries its window as a string of 0/1 ticks (1 =
spot unavailable, the traces' own convention), since the sandbox cannot read the
data folder.
"""

from __future__ import annotations

import json
from typing import Any

from evoforge.evaluators.spot_scheduling.traces import load_trace
from evoforge.evaluators.spot_scheduling.workload import DEADLINES_H, OVERHEADS_H, WORK_H, Instance
from evoforge.public_data import public_file

PROTOCOL = "public"
WINDOWS = "spot_traces/leaderboard_windows.json"
TRACES = "spot_traces"


def public_instances() -> list[dict[str, Any]]:
    """The 1,080 public scenarios, ordered by deadline, overhead, then window."""
    windows = json.loads(public_file(WINDOWS).read_text("utf-8"))["windows"]
    traces: dict[str, tuple[bool, ...]] = {}
    cuts = []
    for window in windows:
        name = window["trace"]
        if name not in traces:
            traces[name] = load_trace(public_file(f"{TRACES}/{name}.json")).available
        ticks = traces[name][window["start_tick"] : window["end_tick"]]
        stem = str(window["window"]).removesuffix(".json")
        cuts.append((f"{name}/{stem}", name, "".join("1" if up is False else "0" for up in ticks)))
    return [
        {
            "protocol": PROTOCOL,
            "id": f"{window_id}-dl{deadline:g}-o{overhead:g}",
            "trace": trace,
            "deadline_h": deadline,
            "overhead_h": overhead,
            "work_h": WORK_H,
            "unavailable": unavailable,
        }
        for deadline in DEADLINES_H
        for overhead in OVERHEADS_H
        for window_id, trace, unavailable in cuts
    ]


def is_public(spec: Any) -> bool:
    """Public instances are told apart by their `protocol` key, never by their ids."""
    return isinstance(spec, dict) and spec.get("protocol") == PROTOCOL


def public_instance(spec: dict[str, Any]) -> Instance:
    """The concrete job of a public spec; a malformed one is refused with its id."""
    name = spec.get("id", "<no id>")
    unavailable = spec.get("unavailable")
    if not isinstance(unavailable, str) or not unavailable or set(unavailable) - {"0", "1"}:
        raise ValueError(f"public instance {name}: 'unavailable' must be a string of 0/1 ticks")
    deadline_h = float(spec["deadline_h"])
    work_h = float(spec.get("work_h", WORK_H))
    if not deadline_h >= work_h > 0 or len(unavailable) * 600 < deadline_h * 3600:
        raise ValueError(f"public instance {name}: the window must cover the deadline")
    return Instance(
        id=str(name),
        profile=str(spec.get("trace", "")),
        deadline_h=deadline_h,
        overhead_h=float(spec["overhead_h"]),
        work_h=work_h,
        available=tuple(tick == "0" for tick in unavailable),
    )
