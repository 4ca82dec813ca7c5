"""fast_p and the geometric-mean speedup over a suite of kernel runs.

KernelBench's fast_p is the share of tasks whose kernel is correct and faster than
the baseline by more than a factor p; fast_0 is plain correctness. One run per task
is the usual unit: the report takes each run's best candidate, so a suite is the runs
named on the command line. Runs that measured no time (no GPU: the `correctness`
objective) count for fast_0 only, and the report says how many there were rather than
counting them as slow.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from evoforge.config import ConfigError
from evoforge.store.database import Database
from evoforge.store.repository import Repository

THRESHOLDS = (0.0, 1.0, 1.2, 1.5, 2.0)
BASELINES = {"eager": "speedup", "compile": "speedup_compile"}


@dataclass(frozen=True)
class RunLine:
    run_id: str
    task: str
    objective: str | None
    correct: bool
    timed: bool
    speedup: float | None
    flagged: bool


@dataclass(frozen=True)
class SuiteReport:
    baseline: str
    runs: list[RunLine]
    fast_p: dict[str, float]
    """`"fast_1.2"` -> share of all runs that are correct and more than 1.2x faster."""
    geomean_speedup: float | None
    """Over the runs that are correct and timed; None if there are none."""
    untimed: int

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "runs": [asdict(line) for line in self.runs]}


def suite_report(database: Database, run_ids: list[str], baseline: str = "eager") -> SuiteReport:
    """Read each run's best candidate and score the suite against `baseline`."""
    if baseline not in BASELINES:
        raise ConfigError(f"baseline {baseline!r}: use one of {', '.join(BASELINES)}")
    repo = Repository(database)
    lines = [_run_line(repo, run_id, BASELINES[baseline]) for run_id in run_ids]
    return summarize(lines, baseline)


def summarize(lines: list[RunLine], baseline: str = "eager") -> SuiteReport:
    total = len(lines)
    fast_p: dict[str, float] = {}
    for p in THRESHOLDS:
        if p == 0.0:
            hits = sum(line.correct for line in lines)
        else:
            hits = sum(
                line.correct and line.speedup is not None and line.speedup > p for line in lines
            )
        fast_p[f"fast_{p:g}"] = hits / total if total else 0.0
    speeds = [line.speedup for line in lines if line.correct and line.speedup]
    geomean = math.exp(sum(math.log(s) for s in speeds) / len(speeds)) if speeds else None
    untimed = sum(line.correct and not line.timed for line in lines)
    return SuiteReport(baseline, lines, fast_p, geomean, untimed)


def _run_line(repo: Repository, run_id: str, speed_metric: str) -> RunLine:
    summary = repo.run_summary(run_id)
    best = repo.best_candidate(run_id)
    metrics = best.metrics if best is not None else {}
    timed = bool(metrics.get("timed"))
    speed = metrics.get(speed_metric) if timed else None
    return RunLine(
        run_id=run_id,
        task=summary["task"],
        objective=summary.get("objective"),
        correct=best is not None and bool(metrics.get("correct")),
        timed=timed,
        speedup=float(speed) if isinstance(speed, (int, float)) else None,
        flagged=bool(metrics.get("speedup_flagged")),
    )
