"""The public multi-region Can't Be Late scenarios (ADRS `cant_be_late_multi`), and their score.

The leaderboard runs a 48 h job with a 52 h deadline and a 0.2 h restart overhead on
the time-aligned windows of six zone sets: 2 zones of us-east-1 (windows 0-7),
us-east-2a + us-west-2a (0-7), 3 diverse zones (0-5), 3 zones of us-east-1 (0-5),
5 zones (0-3) and all 9 (0-1): 34 runs. It averages the cost per scenario, then the
six scenario averages, and scores that mean with the single-region anchors
(all on demand $146.88 = 0, all spot at $0.9731/h $46.71 = 100), to two decimals.

`spot_traces_multi/windows.tar.gz` is read in memory here and never unpacked to disk;
each instance carries its zones' windows as strings of 0/1 ticks (1 = spot
unavailable, the traces' own convention) and their first listed spot prices, since
the sandbox cannot read the data folder.

`python -m evoforge.evaluators.spot_scheduling.public_multi_region [program.py]` prints a
policy's average cost here beside its single-region public figure (default: the
leaderboard's seeds, public_multi_greedy.py and public_greedy.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import tarfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from evoforge.evaluators.spot_scheduling.public_multi_simulator import (
    MultiJob,
    MultiOutcome,
    MultiPolicy,
    leaderboard_score,
    normalised,
    simulate_multi,
    stay_in_first_region,
)
from evoforge.evaluators.spot_scheduling.public_protocol import public_instance
from evoforge.evaluators.spot_scheduling.public_protocol import (
    public_instances as single_region_instances,
)
from evoforge.evaluators.spot_scheduling.public_scoring import leaderboard_score as single_score
from evoforge.evaluators.spot_scheduling.public_simulator import simulate_public
from evoforge.public_data import public_file
from evoforge.result import EvaluationResult

PROTOCOL = "public_multi_region"
WINDOWS = "spot_traces_multi/windows.tar.gz"
FOLDER = "converted_multi_region_aligned"
WORK_H = 48.0
DEADLINE_H = 52.0
OVERHEAD_H = 0.2
SCENARIOS: tuple[tuple[str, tuple[str, ...], int], ...] = (
    ("2_zones_same_region", ("us-east-1a", "us-east-1c"), 8),
    ("2_regions_east_west", ("us-east-2a", "us-west-2a"), 8),
    ("3_regions_diverse", ("us-east-1a", "us-east-2b", "us-west-2c"), 6),
    ("3_zones_same_region", ("us-east-1a", "us-east-1c", "us-east-1d"), 6),
    (
        "5_regions_high_diversity",
        ("us-east-1a", "us-east-1f", "us-west-2a", "us-west-2b", "us-east-2b"),
        4,
    ),
    (
        "all_9_regions",
        (
            "us-east-2a",
            "us-west-2c",
            "us-east-1d",
            "us-east-2b",
            "us-west-2a",
            "us-east-1f",
            "us-east-1a",
            "us-west-2b",
            "us-east-1c",
        ),
        2,
    ),
)
HERE = Path(__file__).resolve().parent


def public_instances() -> list[dict[str, Any]]:
    """The 34 public runs, in the leaderboard's order (scenario, then window)."""
    wanted = {(zone, n) for _, zones, count in SCENARIOS for zone in zones for n in range(count)}
    windows: dict[tuple[str, int], dict[str, Any]] = {}
    with tarfile.open(public_file(WINDOWS), "r:gz") as archive:
        for member in archive.getmembers():
            parts = member.name.split("/")
            if len(parts) != 3 or parts[0] != FOLDER or not member.isfile():
                continue
            key = (parts[1].removesuffix("_v100_1"), int(parts[2].removesuffix(".json")))
            if key in wanted:
                stream = archive.extractfile(member)
                assert stream is not None
                windows[key] = json.load(stream)
    return [
        {
            "protocol": PROTOCOL,
            "id": f"{name}/{n}",
            "scenario": name,
            "regions": list(zones),
            "unavailable": [
                "".join("1" if t else "0" for t in windows[z, n]["data"]) for z in zones
            ],
            "spot_prices": [float(windows[z, n]["prices"][0]) for z in zones],
            "gap_s": float(windows[zones[0], n]["metadata"]["gap_seconds"]),
            "work_h": WORK_H,
            "deadline_h": DEADLINE_H,
            "overhead_h": OVERHEAD_H,
        }
        for name, zones, count in SCENARIOS
        for n in range(count)
    ]


def is_public_multi(spec: Any) -> bool:
    """Told apart by the `protocol` key, never by ids."""
    return isinstance(spec, dict) and spec.get("protocol") == PROTOCOL


def multi_job(spec: dict[str, Any]) -> MultiJob:
    """The concrete run of a spec; a malformed one is refused with its id."""
    name = spec.get("id", "<no id>")
    regions = spec.get("regions")
    windows = spec.get("unavailable")
    prices = spec.get("spot_prices")
    if not (
        isinstance(regions, list)
        and len(regions) >= 1
        and all(isinstance(r, str) for r in regions)
        and len(set(regions)) == len(regions)
        and isinstance(windows, list)
        and isinstance(prices, list)
        and len(windows) == len(prices) == len(regions)
    ):
        raise ValueError(f"public instance {name}: regions, windows and prices must match")
    if any(not isinstance(w, str) or not w or set(w) - {"0", "1"} for w in windows):
        raise ValueError(f"public instance {name}: each window must be a string of 0/1 ticks")
    gap_s = float(spec["gap_s"])
    deadline_h = float(spec["deadline_h"])
    work_h = float(spec["work_h"])
    if (
        not (gap_s > 0 and deadline_h >= work_h > 0)
        or min(map(len, windows)) * gap_s < deadline_h * 3600
    ):
        raise ValueError(f"public instance {name}: the windows must cover the deadline")
    return MultiJob(
        id=str(name),
        scenario=str(spec.get("scenario", "")),
        regions=tuple(regions),
        available=tuple(tuple(t == "0" for t in w) for w in windows),
        spot_prices=tuple(float(p) for p in prices),
        gap_s=gap_s,
        work_h=work_h,
        deadline_h=deadline_h,
        overhead_h=float(spec["overhead_h"]),
    )


def scenario_means(results: list[tuple[MultiJob, MultiOutcome]]) -> dict[str, float]:
    """Mean cost per scenario, in the order the scenarios first appear."""
    costs: dict[str, list[float]] = defaultdict(list)
    for job, outcome in results:
        costs[job.scenario].append(outcome.cost)
    return {name: sum(c) / len(c) for name, c in costs.items()}


def average_cost(results: list[tuple[MultiJob, MultiOutcome]]) -> float:
    """The leaderboard's figure: the mean of the scenario means."""
    means = list(scenario_means(results).values())
    return sum(means) / len(means)


def public_multi_result(results: list[tuple[MultiJob, MultiOutcome]]) -> EvaluationResult:
    """Score, metrics in the public units, feedback per scenario."""
    count = len(results)
    cost = average_cost(results)
    work_h = results[0][0].work_h
    score = leaderboard_score(cost, work_h)
    outcomes = [o for _, o in results]
    hours = results[0][0].gap_s / 3600
    late = [o for o in outcomes if o.late_h > 0]
    metrics = {
        "score": score,
        "public_multi_score": score,
        "public_multi_cost_usd": cost,
        "late_scenarios": float(len(late)),
        "late_h_max": max((o.late_h for o in outcomes), default=0.0),
        "scenarios": float(count),
        "spot_h": sum(o.spot_ticks for o in outcomes) * hours / count,
        "on_demand_h": sum(o.on_demand_ticks for o in outcomes) * hours / count,
        "forced_ticks": sum(o.forced_ticks for o in outcomes) / count,
        "region_changes": sum(o.region_changes for o in outcomes) / count,
    }
    lines = [
        f"Public multi-region Can't Be Late protocol: average cost ${cost:.2f} over "
        f"{count} runs (mean of the scenario means), leaderboard score {score:.2f}/100.",
        f"Late runs (the public harness does not penalise them): {len(late)}.",
        "Mean cost by scenario:",
    ]
    lines += [f"  {name}: ${mean:.2f}" for name, mean in scenario_means(results).items()]
    return EvaluationResult(
        score=score,
        metrics=metrics,
        feedback="\n".join(lines),
        instance_scores={j.id: 100 * normalised(o.cost, j.work_h) for j, o in results},
    )


def _load(path: Path, name: str) -> Any:
    namespace: dict[str, Any] = {"__name__": "policy"}
    exec(compile(path.read_text("utf-8"), str(path), "exec"), namespace)
    return namespace.get(name)


def main(argv: list[str] | None = None) -> int:
    """Print a policy's multi-region average cost beside its single-region figure."""
    parser = argparse.ArgumentParser(
        prog=__spec__.name if __spec__ else None, description=main.__doc__
    )
    parser.add_argument("program", nargs="?", help="a file defining decide_multi and/or decide")
    args = parser.parse_args(argv)
    if args.program:
        multi = _load(Path(args.program), "decide_multi")
        single = _load(Path(args.program), "decide")
    else:
        multi = _load(HERE / "public_multi_greedy.py", "decide_multi")
        single = _load(HERE / "public_greedy.py", "decide")
    if multi is None and single is None:
        print("the program defines neither decide_multi nor decide", file=sys.stderr)
        return 2
    policy: MultiPolicy = multi if multi is not None else stay_in_first_region(single)
    jobs = [multi_job(spec) for spec in public_instances()]
    cost = average_cost([(job, simulate_multi(job, policy)) for job in jobs])
    score = leaderboard_score(cost, WORK_H)
    print(f"multi-region:  average cost ${cost:.2f}, score {score:.2f} ({len(jobs)} runs)")
    if single is None:
        print("single-region: the program defines no decide")
        return 0
    singles = [public_instance(spec) for spec in single_region_instances()]
    mean = sum(simulate_public(i, single).cost for i in singles) / len(singles)
    count = len(singles)
    print(f"single-region: mean cost ${mean:.2f}, score {single_score(mean)} ({count} scenarios)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
