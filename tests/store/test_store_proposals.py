"""Proposals: every answer a proposer gave, its calls, spend per model, views' log tails."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import pytest
from sqlalchemy import select

from evoforge.jobs import EvaluationOutcome
from evoforge.proposals import PROPOSAL_STATUSES, ProposerCall, RejectedAttempt
from evoforge.store import Database, Repository, StoreError
from evoforge.store.models import ProposerCall as ProposerCallRow
from evoforge.store.rows import LOG_TAIL_CHARS
from evoforge.task import Task


def _files(n: int) -> dict[str, str]:
    return {"main.py": f"x = {n}\n"}


def _ok(score: float) -> EvaluationOutcome:
    return EvaluationOutcome(status="ok", score=score)


def _seed(repo: Repository, run_id: str, score: float | None, status: str = "ok") -> str:
    view = repo.add_candidate(run_id, _files(0), kind="seed", proposer="seed")
    assert view is not None
    repo.record_evaluation(view.id, EvaluationOutcome(status=status, score=score))
    return view.id


def _proposal(
    repo: Repository,
    run_id: str,
    seq: int,
    calls: Sequence[ProposerCall],
    *,
    status: str = "accepted",
    parent_id: str | None = None,
    candidate_id: str | None = None,
    kind: str = "diff",
    reason: str = "",
) -> int:
    return repo.record_proposal(
        run_id,
        seq=seq,
        parent_id=parent_id,
        candidate_id=candidate_id,
        proposer="llm",
        kind=kind,
        status=status,
        reason=reason,
        calls=calls,
    )


def _child(
    repo: Repository,
    run_id: str,
    n: int,
    parent_id: str,
    calls: Sequence[ProposerCall],
    outcome: EvaluationOutcome,
) -> str:
    """A proposal accepted as candidate `n`, then evaluated."""
    view = repo.add_candidate(run_id, _files(n), parent_id=parent_id, proposer="llm", kind="diff")
    assert view is not None
    _proposal(repo, run_id, n, calls, parent_id=parent_id, candidate_id=view.id)
    repo.record_evaluation(view.id, outcome)
    return view.id


def _stored_calls(db: Database, run_id: str) -> list[ProposerCallRow]:
    with db.session() as session:
        return list(
            session.scalars(
                select(ProposerCallRow)
                .where(ProposerCallRow.run_id == run_id)
                .order_by(ProposerCallRow.id)
            )
        )


# -- recording ----------------------------------------------------------------------


def test_a_proposal_keeps_its_calls_linked_to_it_and_to_its_child(
    db: Database, repo: Repository, run_id: str
) -> None:
    seed_id = _seed(repo, run_id, 1.0)
    child = repo.add_candidate(run_id, _files(1), parent_id=seed_id, proposer="llm")
    assert child is not None
    calls = [
        ProposerCall(model="m1", prompt="p", response="r", tokens_in=10, tokens_out=5,
                     cost_usd=0.25, latency_s=1.5),
        ProposerCall(model="m2", error="timeout", tokens_in=3, cost_usd=0.5),
    ]  # fmt: skip

    pid = _proposal(repo, run_id, 1, calls, parent_id=seed_id, candidate_id=child.id)

    [proposal] = repo.list_proposals(run_id)
    assert proposal["id"] == pid
    assert (proposal["seq"], proposal["parent_id"], proposal["candidate_id"]) == (
        1, seed_id, child.id
    )  # fmt: skip
    assert (proposal["proposer"], proposal["kind"], proposal["status"]) == (
        "llm",
        "diff",
        "accepted",
    )
    assert proposal["cost_usd"] == pytest.approx(0.75)
    assert (proposal["tokens_in"], proposal["tokens_out"]) == (13, 5)
    assert proposal["created_at"].endswith("+00:00")
    stored = _stored_calls(db, run_id)
    assert [(c.model, c.proposal_id, c.candidate_id, c.proposer) for c in stored] == [
        ("m1", pid, child.id, "llm"),
        ("m2", pid, child.id, "llm"),
    ]
    detail = repo.candidate_detail(child.id)
    assert detail["proposal"] == {
        "id": pid, "kind": "diff", "status": "accepted", "reason": "",
        "cost_usd": pytest.approx(0.75), "tokens_in": 13, "tokens_out": 5,
    }  # fmt: skip
    assert [c["proposal_id"] for c in detail["proposer_calls"]] == [pid, pid]
    assert repo.candidate_detail(seed_id)["proposal"] is None


def test_calls_of_a_proposal_without_a_child_still_count(
    db: Database, repo: Repository, run_id: str
) -> None:
    pid = _proposal(
        repo, run_id, 1, [ProposerCall(model="m1", cost_usd=0.5)],
        status="rejected", reason="diff did not apply",
    )  # fmt: skip
    empty = _proposal(repo, run_id, 2, [], status="failed", reason="no model answered")

    assert [(c.proposal_id, c.candidate_id) for c in _stored_calls(db, run_id)] == [(pid, None)]
    assert repo.spend_usd(run_id) == pytest.approx(0.5)
    assert repo.list_proposals(run_id)[1]["id"] == empty
    assert repo.list_proposals(run_id)[1]["cost_usd"] == 0.0


def test_an_unknown_status_is_refused_naming_the_allowed_ones(
    repo: Repository, run_id: str
) -> None:
    with pytest.raises(ValueError, match="accepted, duplicate, rejected, failed"):
        _proposal(repo, run_id, 1, [ProposerCall(model="m1", cost_usd=1.0)], status="ok")

    assert repo.count_proposals(run_id) == 0
    assert repo.spend_usd(run_id) == 0.0


def test_a_proposal_for_an_unknown_run_is_refused(repo: Repository) -> None:
    with pytest.raises(StoreError, match="no run"):
        _proposal(repo, "nosuchrun", 1, [ProposerCall(model="m1")])


def test_untrusted_text_and_numbers_are_made_portable(
    db: Database, repo: Repository, run_id: str
) -> None:
    calls = [
        ProposerCall(model="m1", response="a\x00b", cost_usd=math.nan, latency_s=math.inf),
        ProposerCall(model="m1", cost_usd=0.5),
    ]
    _proposal(repo, run_id, 1, calls, status="rejected", reason="bad\x00diff", kind="x" * 40)

    [proposal] = repo.list_proposals(run_id)
    assert proposal["reason"] == "bad\ufffddiff"
    assert proposal["kind"] == "x" * 32  # the column holds 32 characters on PostgreSQL
    assert proposal["cost_usd"] == pytest.approx(0.5)
    first = _stored_calls(db, run_id)[0]
    assert (first.response, first.cost_usd, first.latency_s) == ("a\ufffdb", 0.0, 0.0)


# -- reading ------------------------------------------------------------------------


def test_recent_rejections_are_the_latest_childless_proposals_newest_first(
    repo: Repository, run_id: str
) -> None:
    seed_id = _seed(repo, run_id, 1.0)
    statuses = ["rejected", "accepted", "failed", "duplicate", "rejected", "failed"]
    for seq, status in enumerate(statuses, start=1):
        _proposal(
            repo, run_id, seq, [], status=status, parent_id=seed_id,
            kind="rewrite" if seq % 2 else "diff", reason=f"reason {seq}",
        )  # fmt: skip

    recent = repo.recent_rejections(run_id)
    assert recent == [
        RejectedAttempt(kind="diff", reason="reason 6", parent_id=seed_id),
        RejectedAttempt(kind="rewrite", reason="reason 5", parent_id=seed_id),
        RejectedAttempt(kind="rewrite", reason="reason 3", parent_id=seed_id),
    ]
    assert [r.reason for r in repo.recent_rejections(run_id, limit=10)] == [
        "reason 6", "reason 5", "reason 3", "reason 1"
    ]  # fmt: skip


def test_proposals_are_counted_by_status(repo: Repository, run_id: str, task: Task) -> None:
    assert repo.proposal_counts(run_id) == {**dict.fromkeys(PROPOSAL_STATUSES, 0), "total": 0}
    for seq, status in enumerate(["accepted", "rejected", "rejected", "failed"], start=1):
        _proposal(repo, run_id, seq, [], status=status)
    _proposal(repo, run_id, 4, [], status="failed")  # a resumed run may repeat a seq
    other_run = repo.create_run(task, {})
    _proposal(repo, other_run, 1, [], status="duplicate")

    assert repo.proposal_counts(run_id) == {
        "accepted": 1, "duplicate": 0, "rejected": 2, "failed": 2, "total": 5,
    }  # fmt: skip
    assert repo.count_proposals(run_id) == 5
    assert [p["seq"] for p in repo.list_proposals(run_id)] == [1, 2, 3, 4, 4]
    assert [p["seq"] for p in repo.list_proposals(run_id, limit=2)] == [1, 2]


# -- spend --------------------------------------------------------------------------


def test_spend_report_sums_calls_per_model_and_credits_improvements(
    db: Database, repo: Repository, run_id: str
) -> None:
    def call(model: str, cost: float, tin: int, tout: int, error: str = "") -> ProposerCall:
        return ProposerCall(model=model, tokens_in=tin, tokens_out=tout, cost_usd=cost, error=error)

    seed_id = _seed(repo, run_id, 1.0)  # the starting best: not an improvement
    better = _child(repo, run_id, 1, seed_id, [call("a", 0.10, 100, 10)], _ok(2.0))
    _child(
        repo, run_id, 2, seed_id,
        [call("b", 0.05, 50, 0, error="rate limited"), call("a", 0.20, 200, 20)],
        _ok(1.5),
    )  # fmt: skip
    best = _child(repo, run_id, 3, better, [call("b", 0.30, 300, 30)], _ok(3.0))
    _child(
        repo, run_id, 4, best, [call("b", 0.0, 5, 5)],
        EvaluationOutcome(status="invalid", score=100.0),  # invalid scores never improve
    )  # fmt: skip
    _proposal(repo, run_id, 5, [call("b", 0.40, 10, 1)], status="duplicate", parent_id=best)
    _proposal(
        repo, run_id, 6, [call("a", 0.0, 0, 0, "timeout"), call("b", 0.01, 0, 0, "timeout")],
        status="failed", parent_id=best, reason="every call failed",
    )  # fmt: skip

    report = repo.spend_report(run_id)

    stored = _stored_calls(db, run_id)
    by_model = {entry["model"]: entry for entry in report["models"]}
    assert [entry["model"] for entry in report["models"]] == ["b", "a"]  # by cost, highest first
    for model, entry in by_model.items():
        mine = [c for c in stored if c.model == model]
        assert entry["calls"] == len(mine)
        assert entry["errors"] == sum(1 for c in mine if c.error)
        assert entry["cost_usd"] == pytest.approx(sum(c.cost_usd for c in mine))
        assert entry["tokens_in"] == sum(c.tokens_in for c in mine)
        assert entry["tokens_out"] == sum(c.tokens_out for c in mine)
    a, b = by_model["a"], by_model["b"]
    assert (a["calls"], a["errors"], a["tokens_in"], a["tokens_out"]) == (3, 1, 300, 30)
    assert (b["calls"], b["errors"], b["tokens_in"], b["tokens_out"]) == (5, 2, 365, 36)
    assert (a["children"], a["improvements"]) == (2, 1)  # children 1 and 2; 1 improved
    assert (b["children"], b["improvements"]) == (2, 1)  # 3 and 4; its call for 2 errored
    assert a["cost_per_improvement"] == pytest.approx(0.30)
    assert b["cost_per_improvement"] == pytest.approx(0.76)
    assert report["spend_usd"] == pytest.approx(1.06)
    assert report["spend_usd"] == pytest.approx(repo.run_summary(run_id)["spend_usd"])
    assert (report["calls"], report["errors"]) == (8, 3)
    assert (report["tokens_in"], report["tokens_out"]) == (665, 66)
    assert report["improvements"] == 2
    assert report["cost_per_improvement"] == pytest.approx(0.53)
    assert report["proposals"] == {
        "accepted": 4, "duplicate": 1, "rejected": 0, "failed": 1, "total": 6,
    }  # fmt: skip


def test_improvements_follow_a_minimize_runs_direction(
    repo: Repository, make_task: Callable[..., Task]
) -> None:
    run_id = repo.create_run(make_task(direction="minimize"), {})
    seed_id = _seed(repo, run_id, 5.0)
    for n, score in enumerate([4.0, 4.0, 6.0, 1.0], start=1):  # 4.0 and 1.0 improve
        _child(
            repo, run_id, n, seed_id, [ProposerCall(model="m", cost_usd=0.5)],
            EvaluationOutcome(status="ok", score=score),
        )  # fmt: skip

    report = repo.spend_report(run_id)
    assert report["improvements"] == 2
    assert report["cost_per_improvement"] == pytest.approx(1.0)
    [model] = report["models"]
    assert (model["children"], model["improvements"]) == (4, 2)


def test_the_first_valid_child_improves_on_a_seed_without_a_score(
    repo: Repository, run_id: str
) -> None:
    seed_id = _seed(repo, run_id, None, status="crashed")
    _child(
        repo, run_id, 1, seed_id, [ProposerCall(model="m", cost_usd=0.5)],
        EvaluationOutcome(status="ok", score=-3.0),
    )  # fmt: skip

    assert repo.spend_report(run_id)["improvements"] == 1


def test_without_an_improvement_there_is_no_cost_per_improvement(
    repo: Repository, run_id: str
) -> None:
    empty = repo.spend_report(run_id)
    assert (empty["spend_usd"], empty["calls"], empty["models"]) == (0.0, 0, [])
    assert (empty["improvements"], empty["cost_per_improvement"]) == (0, None)

    seed_id = _seed(repo, run_id, 1.0)
    _child(
        repo, run_id, 1, seed_id, [ProposerCall(model="m", cost_usd=0.2)],
        EvaluationOutcome(status="ok", score=0.5),
    )  # fmt: skip

    report = repo.spend_report(run_id)
    assert (report["improvements"], report["cost_per_improvement"]) == (0, None)
    [model] = report["models"]
    assert (model["children"], model["improvements"], model["cost_per_improvement"]) == (1, 0, None)
    with pytest.raises(StoreError, match="no run"):
        repo.spend_report("nosuchrun")


# -- views ----------------------------------------------------------------------------


def test_views_carry_the_reason_and_the_tail_of_stderr(repo: Repository, run_id: str) -> None:
    long_stderr = "é" * 3_000 + "".join(f"line {n}\n" for n in range(400)) + "Traceback: boom"
    short = repo.add_candidate(run_id, _files(1))
    long = repo.add_candidate(run_id, _files(2))
    pending = repo.add_candidate(run_id, _files(3))
    assert short is not None and long is not None and pending is not None
    repo.record_evaluation(
        short.id, EvaluationOutcome(status="invalid", reason="too slow", stderr="warn")
    )
    repo.record_evaluation(
        long.id, EvaluationOutcome(status="crashed", reason="exit code 1", stderr=long_stderr)
    )

    short_view, long_view = repo.evaluated_candidates(run_id)
    assert (short_view.reason, short_view.log_tail) == ("too slow", "warn")
    assert long_view.reason == "exit code 1"
    assert len(long_view.log_tail) == LOG_TAIL_CHARS
    assert long_view.log_tail == long_stderr[-LOG_TAIL_CHARS:]
    assert repo.candidate_view(long.id) == long_view
    assert repo.recent_failures(run_id, limit=1) == [long_view]
    exact = "é" * LOG_TAIL_CHARS
    view = repo.add_candidate(run_id, _files(4))
    assert view is not None
    repo.record_evaluation(view.id, EvaluationOutcome(status="failed", stderr=exact))
    assert repo.candidate_view(view.id).log_tail == exact
    untouched = repo.candidate_view(pending.id)
    assert (untouched.reason, untouched.log_tail) == ("", "")
