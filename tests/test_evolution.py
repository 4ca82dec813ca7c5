"""Real runs on the embedded defaults: the offline proposer must make progress."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from evoforge.api import run_task


@pytest.mark.slow
def test_offline_run_improves_the_circle_packing_seed_within_100_evaluations(db_url: str) -> None:
    outcome = run_task("circle_packing", db=db_url, max_evaluations=100, seed=1)
    summary = outcome.summary
    assert summary["evaluations"]["total"] == 100
    assert summary["best_score"] > summary["seed_score"] + 1e-6
    assert "construct_packing" in outcome.best_files["program.py"]


def _history(db_url: str, run_id: str) -> list[tuple[str, float | None]]:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "select c.content_hash, e.score from evaluations e join candidates c "
                "on c.id = e.candidate_id where e.run_id = :run order by e.seq"
            ),
            {"run": run_id},
        ).all()
    engine.dispose()
    return [(h, s) for h, s in rows]


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["islands", "greedy"])
def test_seeded_run_with_concurrency_one_is_reproducible(tmp_path, strategy: str) -> None:
    histories = []
    for attempt in range(2):
        url = f"sqlite:///{tmp_path / f'{strategy}{attempt}.db'}"
        outcome = run_task(
            "circle_packing",
            db=url,
            max_evaluations=15,
            seed=11,
            strategy=strategy,
            evaluation_slots=1,
            proposal_slots=1,
        )
        histories.append(_history(url, outcome.run_id))
    assert len(histories[0]) == 15
    # The same candidates in the same order; scores agree to float noise only, because
    # numpy's SIMD reductions round differently with the alignment of a fresh process.
    assert [h for h, _ in histories[0]] == [h for h, _ in histories[1]]
    for (_, first), (_, second) in zip(histories[0], histories[1], strict=True):
        assert second == pytest.approx(first, rel=1e-9, abs=1e-12)


def test_identical_artifacts_are_never_evaluated_twice(db_url: str) -> None:
    outcome = run_task(
        "circle_packing", db=db_url, max_evaluations=30, seed=2, strategy="best-of-n"
    )
    engine = create_engine(db_url)
    with engine.connect() as conn:
        dupes = conn.execute(
            text(
                "select content_hash from candidates group by run_id, content_hash "
                "having count(*) > 1"
            )
        ).all()
    engine.dispose()
    assert dupes == []
    assert outcome.summary["evaluations"]["total"] == 30


def test_target_score_stops_the_run_early(db_url: str) -> None:
    outcome = run_task("circle_packing", db=db_url, max_evaluations=50, seed=3, target_score=0.1)
    assert outcome.summary["evaluations"]["total"] < 50
    assert "target" in outcome.summary["stop_reason"]
