"""The numbers the run pages draw, as pandas frames: pure functions of store data.

Kept apart from the page scripts so they can be tested without Streamlit and so the
meaning of each chart (what "best so far" is for a minimising task, which cell an
elite sits in, which points are on the Pareto front) is written down once.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from evoforge.config import RunConfig
from evoforge.jobs import EVALUATION_STATUSES
from evoforge.proposals import SCREEN_STAGE
from evoforge.search.islands import IslandStrategy
from evoforge.ui import formatting

FAILED_STATUSES = tuple(status for status in EVALUATION_STATUSES if status != "ok")
"""Evaluated but unusable: every page shows these in the failure colour, with the reason."""

SCREENED_LABEL = f"screened ({SCREEN_STAGE})"
"""How a page names a score that only screened a child (a strategy's minibatch)."""


def is_result(status: str | None, score: Any, stage: str | None) -> bool:
    """Whether an evaluation's score is a result, the one rule every page ranks by.

    A `pareto` child judged only on the few-instance minibatch screen has a score that
    is no result (it can sit far above the run's true best), so it must not reach a
    best line, a front, a grid or a "best first" list. A task's own cascade stage does
    count, as in the store's best (`CandidateView.scored`).
    """
    if status != "ok" or score is None or stage == SCREEN_STAGE:
        return False
    return not (isinstance(score, float) and math.isnan(score))


def is_screened(status: str | None, score: Any, stage: str | None) -> bool:
    """A valid evaluation that stopped at the screen: shown labelled, never ranked."""
    return status == "ok" and score is not None and stage == SCREEN_STAGE


def runs_frame(summaries: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One row per run for the Runs table, with budget used and a link per run."""
    rows = []
    for run in summaries:
        budget = (run.get("budget") or {}).get("max_evaluations")
        done = run["evaluations"]["total"]
        rows.append(
            {
                "run": f"run?run={run['run_id']}",
                "task": run["task"],
                "status": run["status"],
                "evaluations": done,
                "budget used": f"{done} / {budget}" if budget else str(done),
                "random seed": run["seed"],
                "seed score": run["seed_score"],
                "best score": run["best_score"],
                "spend": run["spend_usd"],
                "started": formatting.moment(run["created_at"]),
                "duration": formatting.duration(run["duration_s"]),
            }
        )
    return pd.DataFrame(rows, columns=RUN_COLUMNS)


RUN_COLUMNS = [
    "run",
    "task",
    "status",
    "evaluations",
    "budget used",
    "random seed",
    "seed score",
    "best score",
    "spend",
    "started",
    "duration",
]


def score_text(status: str | None, score: Any, stage: str | None) -> str:
    """A score as pages print it, a screen's named as one so it never reads as a result."""
    shown = formatting.score(score)
    return f"{SCREENED_LABEL} {shown}" if is_screened(status, score, stage) else shown


def points_frame(points: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Evaluations as rows (see `Repository.evaluation_points`), times parsed, with
    `result` (`is_result`) worked out once so no chart decides it on its own."""
    frame = pd.DataFrame(
        list(points),
        columns=[
            "candidate_id",
            "seq",
            "evaluation_seq",
            "status",
            "score",
            "metrics",
            "reason",
            "island",
            "generation",
            "parent_id",
            "kind",
            "code_length",
            "duration_s",
            "created_at",
            "stage",
        ],
    )
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True, format="ISO8601")
    frame["score"] = pd.to_numeric(frame["score"], errors="coerce")
    frame["result"] = pd.Series(
        [
            is_result(status, score, stage)
            for status, score, stage in zip(
                frame["status"], frame["score"], frame["stage"], strict=True
            )
        ],
        index=frame.index,
        dtype=bool,
    )
    return frame


def results(points: pd.DataFrame) -> pd.DataFrame:
    """The evaluations whose score is a result (`is_result`): what every chart ranks."""
    return points[points["result"]]


def screened_count(points: pd.DataFrame) -> int:
    """Valid evaluations left out of the charts because they only passed the screen."""
    valid = (points["status"] == "ok") & points["score"].notna()
    return int((valid & ~points["result"]).sum())


def best_so_far(points: pd.DataFrame, direction: str) -> pd.DataFrame:
    """The best valid score after each evaluation, in evaluation order.

    Only results count (`is_result`), as in the store's own best, so the line ends at
    the run's best and not at a minibatch screen; evaluations before the first result
    have no best yet and are left out.
    """
    ok = results(points)
    if ok.empty:
        return pd.DataFrame(columns=["evaluation_seq", "created_at", "best", "candidate_id"])
    ordered = ok.sort_values("evaluation_seq")
    running = ordered["score"].cummax() if direction == "maximize" else ordered["score"].cummin()
    improved = running.ne(running.shift())
    best_ids = ordered["candidate_id"].where(improved).ffill()
    return pd.DataFrame(
        {
            "evaluation_seq": ordered["evaluation_seq"].to_numpy(),
            "created_at": ordered["created_at"].to_numpy(),
            "best": running.to_numpy(),
            "candidate_id": best_ids.to_numpy(),
        }
    )


def island_best_so_far(points: pd.DataFrame, direction: str) -> pd.DataFrame:
    """Per island, the best result so far at each improvement, plus a last row at the
    run's latest evaluation so a line that stopped improving still reaches the end.

    An island here is the one a candidate was proposed for (its stored `island`), so
    a migrant's later children count for the island that used it. Columns: island,
    evaluation_seq, best, candidate_id.
    """
    columns = ["island", "evaluation_seq", "best", "candidate_id"]
    ok = results(points)
    if ok.empty:
        return pd.DataFrame(columns=columns)
    last = int(points["evaluation_seq"].max())
    pieces = []
    for island, group in ok.sort_values("evaluation_seq").groupby("island", sort=True):
        best = best_so_far(group, direction)
        improved = best["best"].ne(best["best"].shift())
        steps = best[improved]
        tail = steps.tail(1).assign(evaluation_seq=last)
        frame = pd.concat([steps, tail], ignore_index=True).assign(island=int(island))
        pieces.append(frame[columns])
    return pd.concat(pieces, ignore_index=True)


def migration_interval(config: dict[str, Any]) -> int | None:
    """Admissions between two ring migrations for a run's options, or None when the
    run has none (another strategy, one island, or migration turned off). The
    defaults are the island strategy's own, so an option left unset reads as it ran."""
    if config.get("strategy", RunConfig.model_fields["strategy"].default) != "islands":
        return None
    options = config.get("strategy_options") or {}
    defaults = inspect.signature(IslandStrategy.__init__).parameters
    islands = int(options.get("islands", defaults["islands"].default))
    interval = int(options.get("migration_interval", defaults["migration_interval"].default))
    return interval if islands > 1 and interval > 0 else None


def migrations(points: pd.DataFrame, interval: int | None) -> pd.DataFrame:
    """When the island strategy migrated: after every `interval`-th valid evaluation
    of a child (the seed is placed before the strategy counts), in the order they
    were recorded, the moment `IslandStrategy.admit` triggers `_migrate`. The store
    keeps no migration event; this is the same count replayed.

    Columns: migration (1, 2, …), evaluation_seq (the evaluation it followed).
    """
    columns = ["migration", "evaluation_seq"]
    if not interval:
        return pd.DataFrame(columns=columns)
    admitted = points[(points["status"] == "ok") & (points["kind"] != "seed")]
    ordered = admitted["evaluation_seq"].sort_values().to_numpy()
    after = ordered[interval - 1 :: interval]
    return pd.DataFrame({"migration": range(1, len(after) + 1), "evaluation_seq": after})


def evaluation_rate(points: pd.DataFrame, window_s: float = 60.0) -> float:
    """Evaluations per second over the last `window_s` seconds of recorded work
    (over the whole run when it is shorter), so a live run shows its current pace."""
    if len(points) < 2:
        return 0.0
    times = points["created_at"].sort_values()
    end = times.iloc[-1]
    recent = times[times >= end - pd.Timedelta(seconds=window_s)]
    span = (end - recent.iloc[0]).total_seconds()
    return (len(recent) - 1) / span if span > 0 else 0.0


def feature_values(points: pd.DataFrame, feature: str) -> pd.Series:
    """A MAP-Elites feature per evaluation, as the island strategy computes it: code
    length, or a numeric metric (0 where the evaluator did not report it)."""
    if feature == "code_length":
        return points["code_length"].astype(float)

    def value(metrics: dict[str, Any]) -> float:
        found = (metrics or {}).get(feature, 0.0)
        return float(found) if isinstance(found, (int, float)) and math.isfinite(found) else 0.0

    return points["metrics"].map(value)


def elite_grid(
    points: pd.DataFrame, features: Sequence[str], bins: int, direction: str
) -> pd.DataFrame:
    """The MAP-Elites archive rebuilt from stored evaluations: per island and cell, the
    best valid candidate. Bins span the range seen over the whole run, as the
    strategy's grid ends up; cells are reported for the first two features.

    Columns: island, x_bin, y_bin (0 with one feature), x_range, y_range, score,
    candidate_id, count (valid candidates that landed in the cell). The bins are
    categorical with every bin of the grid as a category, the empty ones included.
    """
    columns = ["island", "x_bin", "y_bin", "x_range", "y_range", "score", "candidate_id", "count"]
    ok = results(points).copy()
    if ok.empty or not features:
        return pd.DataFrame(columns=columns)
    names = list(features[:2])
    for axis, feature in zip(("x", "y"), names, strict=False):
        values = feature_values(ok, feature)
        low, high = float(values.min()), float(values.max())
        span = high - low
        index = ((values - low) / span * bins).astype(int) if span > 0 else values * 0
        ok[f"{axis}_bin"] = index.clip(0, bins - 1).astype(int)
        width = span / bins if span > 0 else 0.0
        ok[f"{axis}_range"] = ok[f"{axis}_bin"].map(
            lambda i, lo=low, w=width: f"{lo + i * w:.4g}–{lo + (i + 1) * w:.4g}"
        )
    if len(names) == 1:
        ok["y_bin"] = 0
        ok["y_range"] = ""
    ascending = direction != "maximize"
    ranked = ok.sort_values(["score", "evaluation_seq"], ascending=[ascending, True])
    keys = ["island", "x_bin", "y_bin"]
    elites = ranked.drop_duplicates(keys, keep="first").copy()
    counts = ok.groupby(keys).size().rename("count")
    elites = elites.join(counts, on=keys)
    grid = elites[columns].sort_values(keys).reset_index(drop=True)
    # Every bin as a category, filled or not, so a chart's axes keep the empty ones:
    # a gap in the grid is what tells a user where the search has not been.
    grid["x_bin"] = pd.Categorical(grid["x_bin"], categories=range(bins))
    grid["y_bin"] = pd.Categorical(grid["y_bin"], categories=range(bins if len(names) > 1 else 1))
    return grid


def numeric_metrics(points: pd.DataFrame) -> list[str]:
    """Metric names with a finite number in at least one result."""
    names: dict[str, None] = {}
    for metrics in results(points)["metrics"]:
        for name, value in (metrics or {}).items():
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if number and math.isfinite(value):
                names[name] = None
    return list(names)


def metric_column(points: pd.DataFrame, name: str) -> pd.Series:
    if name == "score":
        return points["score"]

    def value(metrics: dict[str, Any]) -> float:
        found = (metrics or {}).get(name)
        if isinstance(found, (int, float)) and not isinstance(found, bool):
            return float(found)
        return math.nan

    return points["metrics"].map(value)


def pareto_front(
    points: pd.DataFrame, x: str, y: str, x_direction: str, y_direction: str
) -> pd.DataFrame:
    """Results with both objectives, and whether each is non-dominated.

    A point is on the front when no other point is at least as good on both objectives
    and better on one. One sweep after sorting: O(n log n). Screened evaluations are
    left out: a minibatch score would dominate real results it was never compared with.
    """
    ok = results(points)
    frame = pd.DataFrame(
        {
            "candidate_id": ok["candidate_id"],
            "seq": ok["seq"],
            "x": metric_column(ok, x),
            "y": metric_column(ok, y),
        }
    ).dropna(subset=["x", "y"])
    if frame.empty:
        frame["on_front"] = pd.Series(dtype=bool)
        return frame
    # Turn both objectives into "larger is better".
    gx = frame["x"] if x_direction == "maximize" else -frame["x"]
    gy = frame["y"] if y_direction == "maximize" else -frame["y"]
    order = sorted(range(len(frame)), key=lambda i: (-gx.iloc[i], -gy.iloc[i]))
    on_front = [False] * len(frame)
    best_y = -math.inf
    previous: tuple[float, float] | None = None
    for i in order:
        point = (gx.iloc[i], gy.iloc[i])
        if gy.iloc[i] > best_y or point == previous:
            on_front[i] = True
            best_y = max(best_y, gy.iloc[i])
            previous = point
    frame["on_front"] = on_front
    return frame.reset_index(drop=True)
