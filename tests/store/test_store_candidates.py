"""Adding candidates: dedup by content, creation order, lineage, proposer calls."""

from __future__ import annotations

import math
import threading

import pytest

from evoforge.proposals import ProposerCall
from evoforge.store import Repository, StoreError, open_database
from evoforge.task import Task, content_hash


def _files(n: int) -> dict[str, str]:
    return {"main.py": f"x = {n}\n"}


def test_identical_files_are_stored_once_per_run(repo: Repository, run_id: str) -> None:
    first = repo.add_candidate(run_id, _files(1), kind="seed")
    again = repo.add_candidate(run_id, _files(1), note="same files, other note")

    assert first is not None
    assert again is None
    assert repo.count_candidates(run_id) == 1
    assert repo.has_hash(run_id, content_hash(_files(1)))
    assert not repo.has_hash(run_id, content_hash(_files(2)))


def test_identical_files_in_another_run_are_a_new_candidate(
    repo: Repository, run_id: str, task: Task
) -> None:
    other_run = repo.create_run(task, {}, seed=None)
    assert repo.add_candidate(run_id, _files(1)) is not None
    assert repo.add_candidate(other_run, _files(1)) is not None


def test_dedup_holds_when_a_racing_writer_slips_past_the_check(
    repo: Repository, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.add_candidate(run_id, _files(1))
    real_has_hash = repo.has_hash
    checks: list[str] = []

    def racing_has_hash(run: str, digest: str) -> bool:
        checks.append(digest)  # the first check misses, as if the row landed just after it
        return len(checks) > 1 and real_has_hash(run, digest)

    monkeypatch.setattr(repo, "has_hash", racing_has_hash)

    assert repo.add_candidate(run_id, _files(1)) is None
    assert len(checks) == 2  # refused by the constraint, then confirmed as a duplicate
    assert repo.count_candidates(run_id) == 1


def test_concurrent_writers_get_unique_gapless_seqs_and_no_duplicates(
    db_url: str, repo: Repository, run_id: str
) -> None:
    databases = [open_database(db_url) for _ in range(4)]
    added: list[str] = []

    def write(writer: Repository) -> None:
        for n in range(25):  # every writer tries the same 25 artifacts
            view = writer.add_candidate(run_id, _files(n))
            if view is not None:
                added.append(view.id)

    threads = [threading.Thread(target=write, args=(Repository(d),)) for d in databases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for database in databases:
        database.close()

    pending = repo.pending_candidates(run_id)
    assert len(added) == 25
    assert sorted(c.seq for c in pending) == list(range(1, 26))
    assert sorted(content_hash(c.files) for c in pending) == sorted(
        content_hash(_files(n)) for n in range(25)
    )


def test_candidates_are_numbered_in_creation_order(repo: Repository, run_id: str) -> None:
    views = [repo.add_candidate(run_id, _files(n)) for n in range(5)]

    assert [v.seq for v in views if v is not None] == [1, 2, 3, 4, 5]
    assert [c.seq for c in repo.pending_candidates(run_id)] == [1, 2, 3, 4, 5]
    assert repo.count_candidates(run_id) == 5


def test_a_new_candidate_is_a_pending_view_with_its_origin(repo: Repository, run_id: str) -> None:
    seed = repo.add_candidate(run_id, _files(0), kind="seed", proposer="seed")
    assert seed is not None
    child = repo.add_candidate(
        run_id,
        _files(1),
        parent_id=seed.id,
        generation=1,
        island=2,
        proposer="mutate",
        kind="mutation",
        note="bumped x",
        diff="-x = 0\n+x = 1\n",
    )
    assert child is not None

    assert (child.status, child.score, child.fitness) == ("pending", None, -math.inf)
    assert repo.candidate_view(child.id) == child
    detail = repo.candidate_detail(child.id)
    stored = detail["candidate"]
    assert stored["files"] == _files(1)
    assert (stored["generation"], stored["island"], stored["kind"]) == (1, 2, "mutation")
    assert (stored["proposer"], stored["note"]) == ("mutate", "bumped x")
    assert stored["diff"] == "-x = 0\n+x = 1\n"
    assert detail["evaluation"] is None


def test_the_seed_is_found_again_evaluated_or_not(repo: Repository, run_id: str) -> None:
    assert repo.seed_candidate(run_id) is None
    seed = repo.add_candidate(run_id, _files(0), kind="seed")
    repo.add_candidate(run_id, _files(1))
    assert seed is not None

    found = repo.seed_candidate(run_id)
    assert found is not None and (found.id, found.status) == (seed.id, "pending")


def test_lineage_records_parent_inspirations_and_crossover_mates(
    repo: Repository, run_id: str
) -> None:
    a, b, c = (repo.add_candidate(run_id, _files(n)) for n in range(3))
    assert a is not None and b is not None and c is not None
    child = repo.add_candidate(
        run_id,
        _files(9),
        parent_id=a.id,
        inspirations=[b.id, b.id, c.id],  # a repeated inspiration is one edge
        crossover_parents=[c.id],
        kind="crossover",
    )
    assert child is not None

    edges = {(e.parent_id, e.kind) for e in repo.lineage_edges(run_id)}
    assert edges == {
        (a.id, "parent"),
        (b.id, "inspiration"),
        (c.id, "inspiration"),
        (c.id, "crossover"),
    }
    assert repo.candidate_detail(a.id)["children"] == [{"id": child.id, "kind": "parent"}]
    graph = repo.lineage(run_id)
    assert [n["id"] for n in graph["nodes"]] == [a.id, b.id, c.id, child.id]
    assert {"child_id": child.id, "parent_id": c.id, "kind": "crossover"} in graph["edges"]


def test_ancestry_walks_primary_parents_back_to_the_seed(repo: Repository, run_id: str) -> None:
    seed = repo.add_candidate(run_id, _files(0), kind="seed")
    assert seed is not None
    chain = [seed]
    for n in range(1, 4):
        view = repo.add_candidate(run_id, _files(n), parent_id=chain[-1].id, generation=n)
        assert view is not None
        chain.append(view)

    ancestry = repo.ancestry(chain[-1].id)
    assert [a["id"] for a in ancestry] == [chain[2].id, chain[1].id, seed.id]
    assert [a["generation"] for a in ancestry] == [2, 1, 0]
    assert repo.ancestry(seed.id) == []
    with pytest.raises(StoreError, match="no candidate"):
        repo.ancestry("0" * 16)


def test_a_candidate_for_an_unknown_run_is_refused(repo: Repository) -> None:
    with pytest.raises(StoreError, match="no run"):
        repo.add_candidate("nosuchrun", _files(1))


def test_a_parent_outside_the_store_is_refused_and_nothing_is_kept(
    repo: Repository, run_id: str
) -> None:
    with pytest.raises(Exception, match="(?i)foreign key"):
        repo.add_candidate(run_id, _files(1), parent_id="0" * 16)

    assert repo.count_candidates(run_id) == 0
    assert repo.add_candidate(run_id, _files(1)) is not None


def test_proposer_calls_are_kept_with_their_cost(repo: Repository, run_id: str) -> None:
    view = repo.add_candidate(run_id, _files(1))
    assert view is not None
    calls = [
        ProposerCall(model="m1", prompt="p", response="r", tokens_in=10, tokens_out=5,
                     cost_usd=0.25, latency_s=1.5),
        ProposerCall(model="m2", error="timeout", cost_usd=0.5),
    ]  # fmt: skip
    repo.record_proposal(
        run_id, seq=1, parent_id=None, candidate_id=view.id, proposer="llm", kind="diff",
        status="accepted", reason="", calls=calls,
    )  # fmt: skip
    repo.record_proposal(
        run_id, seq=2, parent_id=view.id, candidate_id=None, proposer="llm", kind="diff",
        status="rejected", reason="diff did not apply",
        calls=[ProposerCall(model="m1", cost_usd=1.0)],
    )  # fmt: skip

    stored = repo.candidate_detail(view.id)["proposer_calls"]
    assert [(c["model"], c["prompt"], c["response"], c["error"]) for c in stored] == [
        ("m1", "p", "r", ""),
        ("m2", "", "", "timeout"),
    ]
    assert stored[0]["proposer"] == "llm"
    assert repo.spend_usd(run_id) == pytest.approx(1.75)
    summary = repo.run_summary(run_id)
    assert summary["spend_usd"] == pytest.approx(1.75)
    assert (summary["proposer_calls"], summary["tokens_in"], summary["tokens_out"]) == (3, 10, 5)
