"""Recording evaluations: once per candidate, in completion order, resumable, best by direction."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

import pytest

from evoforge.jobs import EvaluationOutcome
from evoforge.proposals import CandidateView
from evoforge.store import Database, Repository, StoreError, open_database
from evoforge.task import Task


def _files(n: int) -> dict[str, str]:
    return {"main.py": f"x = {n}\n"}


def _ok(score: float) -> EvaluationOutcome:
    return EvaluationOutcome(status="ok", score=score)


def _add(repo: Repository, run_id: str, n: int, **options: object) -> CandidateView:
    view = repo.add_candidate(run_id, _files(n), **options)  # type: ignore[arg-type]
    assert view is not None
    return view


def test_an_evaluation_delivered_twice_is_stored_once(repo: Repository, run_id: str) -> None:
    view = _add(repo, run_id, 1)

    assert repo.record_evaluation(view.id, _ok(1.0)) is True
    assert repo.record_evaluation(view.id, _ok(99.0)) is False

    detail = repo.candidate_detail(view.id)
    assert detail["evaluation"]["score"] == 1.0
    assert detail["candidate"]["status"] == "evaluated"
    assert repo.count_evaluations(run_id)["total"] == 1


def test_concurrent_deliveries_of_one_evaluation_store_it_once(
    db_url: str, repo: Repository, run_id: str
) -> None:
    views = [_add(repo, run_id, n) for n in range(10)]
    databases = [open_database(db_url) for _ in range(4)]
    accepted: list[bool] = []

    def deliver(writer: Repository) -> None:
        for view in views:
            accepted.append(writer.record_evaluation(view.id, _ok(float(view.seq))))

    threads = [threading.Thread(target=deliver, args=(Repository(d),)) for d in databases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for database in databases:
        database.close()

    assert accepted.count(True) == 10
    assert len(repo.evaluated_candidates(run_id)) == 10
    assert repo.count_evaluations(run_id)["total"] == 10


def test_the_whole_outcome_is_kept(repo: Repository, run_id: str) -> None:
    view = _add(repo, run_id, 1)
    outcome = EvaluationOutcome(
        status="invalid",
        score=0.5,
        metrics={"score": 0.5, "rows": [1, 2]},
        instance_scores={"a": 1.0, "b": 0.0},
        feedback="b is wrong",
        artifacts={"log": "text"},
        reason="constraint violated",
        stage="quick",
        stdout="out\x00put",
        stderr="warn",
        duration_s=1.25,
        host="worker-1",
        sandbox="process",
    )
    repo.record_evaluation(view.id, outcome)

    stored = repo.candidate_detail(view.id)["evaluation"]
    assert (stored["status"], stored["score"], stored["seq"]) == ("invalid", 0.5, 1)
    assert stored["metrics"] == {"score": 0.5, "rows": [1, 2]}
    assert stored["instance_scores"] == {"a": 1.0, "b": 0.0}
    assert (stored["feedback"], stored["reason"], stored["stage"]) == (
        "b is wrong", "constraint violated", "quick"
    )  # fmt: skip
    assert stored["artifacts"] == {"log": "text"}
    assert stored["stdout"] == "out\ufffdput"  # NUL cannot live in PostgreSQL text
    assert (stored["stderr"], stored["duration_s"], stored["host"], stored["sandbox"]) == (
        "warn", 1.25, "worker-1", "process"
    )  # fmt: skip


def test_non_finite_numbers_are_stored_as_null(repo: Repository, run_id: str) -> None:
    view = _add(repo, run_id, 1)
    repo.record_evaluation(
        view.id, EvaluationOutcome(status="invalid", score=math.nan, metrics={"t": math.inf})
    )

    stored = repo.candidate_detail(view.id)["evaluation"]
    assert stored["score"] is None
    assert stored["metrics"] == {"t": None}


def test_recording_for_an_unknown_candidate_is_an_error(repo: Repository, run_id: str) -> None:
    with pytest.raises(StoreError, match="no candidate"):
        repo.record_evaluation("f" * 16, _ok(1.0))


def test_evaluations_replay_in_completion_order(repo: Repository, run_id: str) -> None:
    views = [_add(repo, run_id, n) for n in range(4)]
    for view in reversed(views):  # finish last-created first
        repo.record_evaluation(view.id, _ok(float(view.seq)))

    evaluated = repo.evaluated_candidates(run_id)
    assert [c.id for c in evaluated] == [v.id for v in reversed(views)]
    assert [c.seq for c in evaluated] == [4, 3, 2, 1]  # creation order travels along
    assert [c.score for c in evaluated] == [4.0, 3.0, 2.0, 1.0]


def test_evaluated_candidates_are_strategy_views_with_fitness(
    repo: Repository, make_task: Callable[..., Task]
) -> None:
    run_id = repo.create_run(make_task(direction="minimize"), {})
    seed = _add(repo, run_id, 0, kind="seed")
    child = _add(repo, run_id, 1, parent_id=seed.id, generation=1, island=3)
    repo.record_evaluation(seed.id, EvaluationOutcome(status="ok", score=2.0, metrics={"m": 1}))
    repo.record_evaluation(child.id, EvaluationOutcome(status="failed", feedback="boom"))

    seed_view, child_view = repo.evaluated_candidates(run_id)
    assert (seed_view.id, seed_view.score, seed_view.fitness) == (seed.id, 2.0, -2.0)
    assert (seed_view.status, seed_view.kind, seed_view.metrics) == ("ok", "seed", {"m": 1})
    assert seed_view.files == _files(0)
    assert (child_view.status, child_view.feedback, child_view.fitness) == (
        "failed", "boom", -math.inf
    )  # fmt: skip
    assert (child_view.parent_id, child_view.generation, child_view.island) == (seed.id, 1, 3)
    assert repo.candidate_view(child.id) == child_view
    assert repo.seed_candidate(run_id) == seed_view


def test_recent_failures_are_the_latest_invalid_evaluations_newest_first(
    repo: Repository, run_id: str
) -> None:
    statuses = ["invalid", "ok", "crashed", "timeout", "ok", "failed"]
    views = [_add(repo, run_id, n) for n in range(len(statuses))]
    for view, status in zip(views, statuses, strict=True):
        repo.record_evaluation(view.id, EvaluationOutcome(status=status, score=1.0))

    recent = repo.recent_failures(run_id, limit=3)
    assert [v.id for v in recent] == [views[5].id, views[3].id, views[2].id]
    assert [v.status for v in recent] == ["failed", "timeout", "crashed"]


def test_a_reopened_database_returns_the_candidates_a_crash_left_unevaluated(
    db_url: str, task: Task
) -> None:
    before = open_database(db_url)
    repo = Repository(before)
    run_id = repo.create_run(task, {}, seed=1)
    views = [_add(repo, run_id, n) for n in range(6)]
    for view in views[::2]:
        repo.record_evaluation(view.id, _ok(1.0))
    before.engine.dispose()  # the process dies without recording the run's end

    after = open_database(db_url)
    reopened = Repository(after)
    pending = reopened.pending_candidates(run_id)
    assert [c.id for c in pending] == [views[1].id, views[3].id, views[5].id]
    assert [c.files for c in pending] == [_files(1), _files(3), _files(5)]
    assert all(c.status == "pending" for c in pending)
    assert len(reopened.evaluated_candidates(run_id)) == 3
    after.close()


def test_counts_by_status_include_every_status(repo: Repository, run_id: str) -> None:
    statuses = ["ok", "ok", "invalid", "timeout", "crashed"]
    for n, status in enumerate(statuses):
        view = _add(repo, run_id, n)
        repo.record_evaluation(
            view.id, EvaluationOutcome(status=status, score=1.0 if status == "ok" else None)
        )

    assert repo.count_evaluations(run_id) == {
        "ok": 2, "invalid": 1, "failed": 0, "timeout": 1, "crashed": 1, "total": 5,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("direction", "best_score", "top_scores"),
    [("maximize", 9.0, [9.0, 5.0, 5.0]), ("minimize", 1.0, [1.0, 5.0, 5.0])],
)
def test_the_best_candidate_follows_the_task_direction_and_ignores_invalid_ones(
    repo: Repository,
    make_task: Callable[..., Task],
    direction: str,
    best_score: float,
    top_scores: list[float],
) -> None:
    run_id = repo.create_run(make_task(direction=direction), {})
    outcomes = [
        _ok(5.0),
        _ok(9.0),
        EvaluationOutcome(status="invalid", score=100.0),
        EvaluationOutcome(status="invalid", score=-100.0),
        _ok(1.0),
        _ok(5.0),
    ]
    ids = []
    for n, outcome in enumerate(outcomes):
        view = _add(repo, run_id, n, kind="seed" if n == 0 else "mutation")
        repo.record_evaluation(view.id, outcome)
        ids.append(view.id)

    best = repo.best_candidate(run_id)
    assert best is not None and best.score == best_score
    top = repo.top_candidates(run_id, 3)
    assert [c.score for c in top] == top_scores
    assert [c.id for c in top if c.score == 5.0] == [ids[0], ids[5]]  # ties: first evaluated
    summary = repo.run_summary(run_id)
    assert (summary["best_score"], summary["best_candidate_id"]) == (best_score, best.id)
    assert summary["seed_score"] == 5.0


def test_an_explicit_direction_overrides_the_runs(repo: Repository, run_id: str) -> None:
    for n, score in enumerate([3.0, 1.0, 2.0]):
        repo.record_evaluation(_add(repo, run_id, n).id, _ok(score))

    best = repo.best_candidate(run_id, "minimize")
    assert best is not None and best.score == 1.0


def test_a_run_without_valid_evaluations_has_no_best(repo: Repository, run_id: str) -> None:
    repo.record_evaluation(
        _add(repo, run_id, 0, kind="seed").id, EvaluationOutcome(status="crashed")
    )

    assert repo.best_candidate(run_id) is None
    assert repo.top_candidates(run_id, 5) == []
    summary = repo.run_summary(run_id)
    assert (summary["best_score"], summary["seed_score"]) == (None, None)


def test_a_database_without_update_returning_numbers_and_scores_the_same(
    db: Database, task: Task, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite before 3.35 and other servers cannot return what an UPDATE changed; the
    counters, the evaluated mark and the run's best then take a read and an update."""
    monkeypatch.setattr(db.engine.dialect, "update_returning", False)
    repo = Repository(db)
    run_id = repo.create_run(task, {})
    seed = _add(repo, run_id, 0, kind="seed")
    child = repo.add_proposed_child(
        run_id, _files(1), seq=1, parent_id=seed.id, calls=[], proposer="mutate"
    )
    assert child is not None
    assert (seed.seq, child.seq) == (1, 2)

    assert repo.record_evaluation(seed.id, _ok(3.0)) is True
    assert repo.record_evaluation(child.id, _ok(7.0)) is True
    assert repo.record_evaluation(child.id, _ok(9.0)) is False  # already evaluated

    run = repo.get_run(run_id)
    assert (run.seed_score, run.best_score) == (3.0, 7.0)
    assert repo.count_candidates(run_id) == 2
    assert repo.count_evaluations(run_id)["total"] == 2
    assert repo.candidate_detail(child.id)["candidate"]["status"] == "evaluated"
