"""A proposal and the child it made are stored together: one commit, all or nothing.

Each commit is a disk sync on SQLite and a round trip on PostgreSQL, paid once per
proposal; and a proposal row without its child (or a child without its proposal) would
show a lineage the run never had.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import event, func, select

from evoforge.proposals import ProposerCall
from evoforge.store import Database, Repository
from evoforge.store import proposals as proposals_module
from evoforge.store.models import Candidate, Proposal


@pytest.fixture
def commits(db: Database) -> Iterator[list[int]]:
    counted: list[int] = []

    def count(_connection: object) -> None:
        counted.append(1)

    event.listen(db.engine, "commit", count)
    yield counted
    event.remove(db.engine, "commit", count)


def _rows(db: Database, model: type) -> int:
    with db.session() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def _child(repo: Repository, run_id: str, parent: str, text: str) -> object:
    return repo.add_proposed_child(
        run_id,
        {"main.py": text},
        seq=1,
        parent_id=parent,
        calls=[ProposerCall(model="m", prompt="p", response="r", tokens_in=3, cost_usd=0.5)],
        generation=1,
        proposer="llm",
        kind="diff",
    )


def test_a_child_and_its_proposal_commit_once(
    db: Database, repo: Repository, run_id: str, commits: list[int]
) -> None:
    seed = repo.add_candidate(run_id, {"main.py": "x = 1\n"})
    assert seed is not None
    commits.clear()
    child = _child(repo, run_id, seed.id, "x = 2\n")
    assert child is not None
    assert len(commits) == 1
    [proposal] = repo.list_proposals(run_id)
    assert (proposal["status"], proposal["candidate_id"]) == ("accepted", child.id)

    commits.clear()
    assert _child(repo, run_id, seed.id, "x = 2\n") is None  # the same files again
    assert len(commits) == 1
    statuses = sorted(p["status"] for p in repo.list_proposals(run_id))
    assert statuses == ["accepted", "duplicate"]


def test_a_proposal_that_cannot_be_stored_takes_its_child_with_it(
    db: Database, repo: Repository, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed = repo.add_candidate(run_id, {"main.py": "x = 1\n"})
    assert seed is not None
    before = (_rows(db, Candidate), _rows(db, Proposal))

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the proposal's insert failed")

    monkeypatch.setattr(proposals_module, "utcnow", broken)  # after the child is inserted
    with pytest.raises(RuntimeError):
        _child(repo, run_id, seed.id, "x = 3\n")
    assert (_rows(db, Candidate), _rows(db, Proposal)) == before
