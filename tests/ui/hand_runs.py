"""Runs written straight into a store, for page tests that need a lineage of known
shape without evolving one: a task, a run and its seed scored 1.0."""

from __future__ import annotations

from evoforge.jobs import EvaluationOutcome
from evoforge.proposals import CandidateView
from evoforge.store import Repository, open_database
from evoforge.store.database import Database
from evoforge.task import ArtifactFile, Task


def seeded_run(url: str, name: str) -> tuple[Database, Repository, str, CandidateView]:
    """A new store at `url` holding one run of task `name` whose seed scored 1.0:
    (database, repository, run id, seed); the caller closes the database."""
    database = open_database(url)
    repo = Repository(database)
    task = Task(
        name=name,
        files=[ArtifactFile(name="main.py", seed="x = 0\n")],
        evaluate=f"{name}:evaluate",
        direction="maximize",
        source="tests",
    )
    run_id = repo.create_run(task, {"strategy": "islands"}, seed=0)
    seed = repo.add_candidate(run_id, {"main.py": "x = 0\n"}, kind="seed", proposer="seed")
    assert seed is not None
    repo.record_evaluation(seed.id, EvaluationOutcome(status="ok", score=1.0))
    return database, repo, run_id, seed
