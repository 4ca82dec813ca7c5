"""What the run page's charts mean: best so far, rates, the elite grid, the Pareto
front and hidden secrets, on small hand-made data whose answers are known."""

from __future__ import annotations

import pandas as pd
from frame_points import point

from evoforge.ui import artifacts, frames
from evoforge.ui.redact import MASK, redact


def test_best_so_far_follows_the_direction_and_skips_failures() -> None:
    points = frames.points_frame(
        [point(1, score=5.0), point(2, "failed"), point(3, score=3.0), point(4, score=7.0)]
    )
    up = frames.best_so_far(points, "maximize")
    assert list(up["best"]) == [5.0, 5.0, 7.0]
    assert list(up["candidate_id"]) == ["c1", "c1", "c4"]
    down = frames.best_so_far(points, "minimize")
    assert list(down["best"]) == [5.0, 3.0, 3.0]
    assert list(down["candidate_id"]) == ["c1", "c3", "c3"]


def test_evaluation_rate_is_the_recent_pace() -> None:
    # 11 evaluations one second apart: 10 intervals in 10 s.
    points = frames.points_frame([point(n, score=1.0) for n in range(11)])
    assert frames.evaluation_rate(points) == 1.0
    assert frames.evaluation_rate(points.head(1)) == 0.0


def test_elite_grid_keeps_the_best_per_island_and_cell() -> None:
    points = frames.points_frame(
        [
            point(1, score=1.0, code_length=0),
            point(2, score=4.0, code_length=5),  # same cell as 1, better
            point(3, score=2.0, code_length=100),
            point(4, score=9.0, code_length=100, island=1),
            point(5, "invalid", code_length=0),  # never an elite
        ]
    )
    grid = frames.elite_grid(points, ["code_length"], bins=10, direction="maximize")
    cells = {(r.island, r.x_bin): (r.candidate_id, r.count) for r in grid.itertuples()}
    assert cells == {(0, 0): ("c2", 2), (0, 9): ("c3", 1), (1, 9): ("c4", 1)}
    low = frames.elite_grid(points, ["code_length"], bins=10, direction="minimize")
    assert dict(zip(low["x_bin"], low["candidate_id"], strict=False))[0] == "c1"


def test_pareto_front_is_exactly_the_non_dominated_points() -> None:
    # (score up, cost down): c1 dominates c2; c3 trades score for cost; c4 ties c3.
    rows = [(1, 10.0, 5.0), (2, 9.0, 6.0), (3, 8.0, 1.0), (4, 8.0, 1.0), (5, 7.0, 2.0)]
    points = frames.points_frame(
        [point(n, score=s, metrics={"cost": c}) for n, s, c in rows] + [point(6, "failed")]
    )
    front = frames.pareto_front(points, "score", "cost", "maximize", "minimize")
    assert set(front.loc[front["on_front"], "candidate_id"]) == {"c1", "c3", "c4"}
    assert frames.numeric_metrics(points) == ["cost"]


def test_runs_frame_shows_budget_used() -> None:
    summary = {
        "run_id": "abc123", "task": "t", "status": "running", "seed": 3,
        "evaluations": {"total": 7}, "budget": {"max_evaluations": 20},
        "seed_score": 1.0, "best_score": 2.0, "spend_usd": 0.5,
        "created_at": "2026-01-01T00:00:00+00:00", "duration_s": 75.0,
    }  # fmt: skip
    frame = frames.runs_frame([summary])
    assert frame.iloc[0]["budget used"] == "7 / 20"
    assert frame.iloc[0]["run"] == "run?run=abc123"
    assert frame.iloc[0]["duration"] == "1 min 15 s"
    assert isinstance(frame, pd.DataFrame)


def test_secrets_are_masked_wherever_they_hide() -> None:
    options = {
        "proposer_options": {
            "models": [{"model": "openai/x", "api_key": "abc", "api_key_env": "MY_KEY"}],
            "headers": {"Authorization": "Bearer zzz"},
        },
        "note": "use sk-abcdefghijklmnop for tests",
        "tokens_in": 5,
    }
    shown = redact(options)
    model = shown["proposer_options"]["models"][0]
    assert model["api_key"] == MASK
    assert model["api_key_env"] == "MY_KEY"  # the variable's name is no secret
    assert shown["proposer_options"]["headers"]["Authorization"] == MASK
    assert "sk-abcdefghijklmnop" not in shown["note"]
    assert shown["tokens_in"] == 5


def test_diffs_cover_changed_added_and_removed_files() -> None:
    old = {"a.py": "x = 1\ny = 2\n", "gone.py": "z = 0\n"}
    new = {"a.py": "x = 1\ny = 3\n", "new.py": "w = 1\n"}
    text = artifacts.diff(old, new, "parent", "child")
    assert "-y = 2\n+y = 3\n" in text
    assert "--- parent/gone.py\n+++ /dev/null" in text
    assert "--- /dev/null\n+++ child/new.py" in text
    assert artifacts.changed_lines(text) == (2, 2)
    assert artifacts.diff(old, old, "a", "b") == ""
    assert artifacts.language("kernel.cu") == "cpp"
    assert artifacts.language("prompt.txt") is None
