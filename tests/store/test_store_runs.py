"""Runs: the task snapshot, listing, status, finding a run by what a user types, the summary."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from evoforge.jobs import EvaluationOutcome
from evoforge.store import Repository, StoreError
from evoforge.store.runs import FAILURE_REASON_CHARS
from evoforge.task import Baseline, Task

SUMMARY_KEYS = {
    "run_id", "task", "task_source", "status", "stop_reason", "seed", "direction", "metric",
    "objective", "objective_note",
    "candidates", "pending", "evaluations", "seed_score", "best_score", "best_candidate_id",
    "reference_score", "trained_on", "strongest_baseline", "strongest_baseline_score",
    "budget", "created_at", "updated_at", "finished_at", "duration_s",
    "spend_usd", "proposer_calls", "tokens_in", "tokens_out", "isolation", "failures",
}  # fmt: skip


def _files(n: int) -> dict[str, str]:
    return {"main.py": f"x = {n}\n"}


def test_a_run_keeps_the_task_and_options_it_started_with(
    repo: Repository, task: Task, run_id: str
) -> None:
    run = repo.get_run(run_id)

    assert len(run.id) == 12 and int(run.id, 16) >= 0
    assert run.task() == task  # shown or resumed without the plugin installed
    assert Task.model_validate(run.task_json) == task
    assert run.config_json == {"proposer": "mutate", "max_candidates": 100}
    assert (run.task_name, run.task_source, run.seed) == ("toy", "tests", 7)
    assert (run.status, run.finished_at, run.direction) == ("running", None, "maximize")
    assert run.created_at.tzinfo is not None


def test_options_that_are_not_json_are_kept_as_text(repo: Repository, task: Task) -> None:
    run_id = repo.create_run(task, {"out": Path("/tmp/x"), "nested": {"n": 1}})

    assert repo.get_run(run_id).config_json == {"out": "/tmp/x", "nested": {"n": 1}}


def test_an_unknown_run_is_a_clear_error(repo: Repository) -> None:
    for call in (
        lambda: repo.get_run("000000000000"),
        lambda: repo.run_summary("000000000000"),
        lambda: repo.set_run_status("000000000000", "finished"),
        lambda: repo.count_candidates("000000000000"),
    ):
        with pytest.raises(StoreError, match="no run '000000000000'"):
            call()


def test_runs_are_listed_newest_first_as_summaries(
    repo: Repository, make_task: Callable[..., Task]
) -> None:
    older = repo.create_run(make_task(), {})
    newer = repo.create_run(make_task(name="other"), {})
    for n in range(3):
        view = repo.add_candidate(newer, _files(n))
        assert view is not None
        if n < 2:
            repo.record_evaluation(view.id, EvaluationOutcome(status="ok", score=n))

    listed = repo.list_runs()
    assert [r["run_id"] for r in listed] == [newer, older]
    assert listed[0] == repo.run_summary(newer)
    assert (listed[0]["candidates"], listed[0]["pending"], listed[0]["best_score"]) == (3, 1, 1.0)
    assert listed[0]["evaluations"]["total"] == 2
    assert listed[1]["evaluations"]["total"] == 0
    assert [r["run_id"] for r in repo.list_runs(limit=1)] == [newer]
    assert [r["run_id"] for r in repo.list_runs(task_name="toy")] == [older]
    json.dumps(listed)


def test_an_empty_store_lists_no_runs(repo: Repository) -> None:
    assert repo.list_runs() == []


def test_ending_a_run_stamps_it_and_resuming_clears_the_stamp(
    repo: Repository, run_id: str
) -> None:
    repo.set_run_status(run_id, "interrupted", "ctrl-c")
    run = repo.get_run(run_id)
    assert (run.status, run.stop_reason) == ("interrupted", "ctrl-c")
    assert run.finished_at is not None and run.finished_at >= run.created_at

    repo.set_run_status(run_id, "running", None)
    resumed = repo.get_run(run_id)
    assert (resumed.status, resumed.stop_reason, resumed.finished_at) == ("running", "", None)


def test_an_unknown_run_status_is_refused(repo: Repository, run_id: str) -> None:
    with pytest.raises(ValueError, match="running, finished, failed, interrupted"):
        repo.set_run_status(run_id, "done")


def test_a_run_is_found_by_its_id_a_unique_prefix_or_latest(
    repo: Repository, task: Task, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = iter(["abc111111111", "abc222222222"])
    monkeypatch.setattr("evoforge.store.runs.new_run_id", lambda: next(ids))
    first = repo.create_run(task, {})
    second = repo.create_run(task, {})

    assert repo.resolve_run_id(first) == first
    assert repo.resolve_run_id("abc2") == second
    assert repo.resolve_run_id("latest") == second
    with pytest.raises(StoreError, match="several runs"):
        repo.resolve_run_id("abc")
    with pytest.raises(StoreError, match="no run matches"):
        repo.resolve_run_id("f%")


def test_the_summary_counts_a_run_and_is_json(repo: Repository, run_id: str) -> None:
    outcomes = [("ok", 2.0), ("ok", 4.0), ("invalid", None), ("timeout", None), ("failed", None)]
    views = []
    for n, (status, score) in enumerate(outcomes):
        view = repo.add_candidate(run_id, _files(n), kind="seed" if n == 0 else "mutation")
        assert view is not None
        views.append(view)
        repo.record_evaluation(view.id, EvaluationOutcome(status=status, score=score))
    repo.add_candidate(run_id, _files(99))  # created, never evaluated
    repo.set_run_status(run_id, "finished", "budget: 5 evaluations")

    summary = json.loads(json.dumps(repo.run_summary(run_id)))
    assert set(summary) == SUMMARY_KEYS
    assert summary["run_id"] == run_id
    assert (summary["task"], summary["status"]) == ("toy", "finished")
    assert summary["stop_reason"] == "budget: 5 evaluations"
    assert (summary["candidates"], summary["pending"]) == (6, 1)
    assert summary["evaluations"] == {
        "total": 5, "ok": 2, "invalid": 1, "failed": 1, "timeout": 1, "crashed": 0,
    }  # fmt: skip
    # The outcomes above name no sandbox: their isolation is unknown, and says so.
    assert summary["isolation"] == {"unknown": 5}
    assert (summary["seed_score"], summary["best_score"]) == (2.0, 4.0)
    assert summary["best_candidate_id"] == views[1].id
    assert summary["reference_score"] == 10.0
    assert summary["finished_at"] is not None and summary["finished_at"].endswith("+00:00")
    assert summary["duration_s"] >= 0
    assert (summary["spend_usd"], summary["proposer_calls"]) == (0.0, 0)


def test_the_summary_groups_failures_by_the_first_line_of_their_reason(
    repo: Repository, run_id: str
) -> None:
    """Tracebacks that differ only below their first line are one cause, counted once."""
    outcomes = [
        ("ok", "", 1.0),
        *[("failed", f"No module named 'torch'\n  at 0x{n:x}", None) for n in range(3)],
        ("failed", "x" * 500, None),
        ("timeout", "exceeded 30 s", None),
        ("failed", "", None),
    ]
    for n, (status, reason, score) in enumerate(outcomes):
        view = repo.add_candidate(run_id, _files(n))
        assert view is not None
        repo.record_evaluation(
            view.id, EvaluationOutcome(status=status, score=score, reason=reason)
        )

    failures = repo.run_summary(run_id)["failures"]
    assert failures[0] == {"status": "failed", "reason": "No module named 'torch'", "count": 3}
    assert sum(group["count"] for group in failures) == 6
    assert {"status": "timeout", "reason": "exceeded 30 s", "count": 1} in failures
    assert {"status": "failed", "reason": "(no reason recorded)", "count": 1} in failures
    long = next(group for group in failures if group["reason"].startswith("x"))
    assert len(long["reason"]) == FAILURE_REASON_CHARS
    assert repo.list_runs()[0]["failures"] == failures


def test_summary_names_the_strongest_baseline_in_the_tasks_direction(
    repo: Repository, make_task: Callable[..., Task]
) -> None:
    def baselines(**train: float) -> list[Baseline]:
        return [Baseline(name=n, files={}, scores={"train": s}) for n, s in train.items()]

    cheapest = make_task(direction="minimize", baselines=baselines(slow=9.0, fast=2.5, mid=4.0))
    summary = repo.run_summary(repo.create_run(cheapest, {}))
    assert (summary["strongest_baseline"], summary["strongest_baseline_score"]) == ("fast", 2.5)
    highest = make_task(name="other", reference_score=1.0, baselines=baselines(ref=1.0, ls=2.1))
    summary = repo.run_summary(repo.create_run(highest, {}))
    assert (summary["strongest_baseline"], summary["strongest_baseline_score"]) == ("ls", 2.1)
    plain = repo.run_summary(repo.create_run(make_task(name="plain"), {}))
    assert plain["strongest_baseline"] is None and plain["strongest_baseline_score"] is None
