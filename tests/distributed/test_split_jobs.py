"""A Celery worker stores a validation or test score apart from the candidate's
training evaluation: the worker stores what it evaluates itself, and the search must
never read a split score as the candidate's evaluation."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.split_task import write_split_task

from evoforge.api import resolve_task, run_task
from evoforge.executors.distributed import worker_task
from evoforge.jobs import EvaluationJob
from evoforge.store.database import open_database
from evoforge.store.repository import Repository


def test_a_worker_stores_a_split_score_apart_from_the_training_evaluation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path}/runs.db"
    folder = write_split_task(tmp_path)
    outcome = run_task(folder, db=url, max_evaluations=6, seed=1, validate_top=1)
    repo = Repository(open_database(url))
    scored = repo.split_scores(outcome.run_id)
    unscored = [
        c for c in repo.evaluated_candidates(outcome.run_id)
        if "validation" not in scored.get(c.id, {}) and c.status == "ok"
    ]  # fmt: skip
    assert unscored, "validate_top=1 should leave most candidates without a validation score"
    candidate = unscored[0]
    training = repo.stored_outcome(candidate.id)

    task = resolve_task(folder)
    job = EvaluationJob.for_candidate(
        task, outcome.run_id, candidate.id, candidate.files, "process"
    ).model_copy(update={"instances": task.validation_instances, "split": "validation"})
    monkeypatch.setattr(worker_task.SETTINGS, "db_url", url)
    monkeypatch.setattr(worker_task, "_state", None)
    answered = worker_task.evaluate_message(job.model_dump(mode="json"), {}, "w1@test")

    stored = repo.split_scores(outcome.run_id)[candidate.id]["validation"]
    assert stored["score"] == answered["score"]
    assert set(stored["instance_scores"]) == {f"val-{i}" for i in range(6)}
    assert repo.stored_outcome(candidate.id) == training  # the training evaluation is intact
