"""Queries about proposals (part of `Repository`): every answer a proposer gave.

The orchestrator records each proposal it asked for, whatever became of it, together
with the model calls it cost, in one transaction: a crash between the two would leave
spend that no proposal accounts for, or a proposal whose cost is missing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError

from evoforge.proposals import PROPOSAL_STATUSES, CandidateView, RejectedAttempt
from evoforge.proposals import ProposerCall as ProposerCallRecord
from evoforge.store.errors import StoreError
from evoforge.store.models import Proposal, ProposerCall, Run, utcnow
from evoforge.store.portable import finite, text
from evoforge.store.rows import iso
from evoforge.store.runs import failure_reason

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy.orm import Session

    from evoforge.store.database import Database

NO_CHILD: tuple[str, ...] = ("rejected", "failed")
"""Statuses of proposals that produced no candidate at all (a duplicate did, once)."""

KIND_CHARS = 32
"""`proposals.kind` is a String(32); PostgreSQL refuses longer values, SQLite keeps them."""
LENIENCY_CHARS = 64
"""`proposals.leniency` is a String(64), for the same reason."""


DUPLICATE_REASON = "the proposed artifact was already evaluated (duplicate)"


class ProposalQueries:
    """Recording proposals with their calls, and reading them back."""

    _db: Database

    def record_proposal(
        self,
        run_id: str,
        *,
        seq: int,
        parent_id: str | None,
        candidate_id: str | None,
        proposer: str,
        kind: str,
        status: str,
        reason: str,
        calls: Iterable[ProposerCallRecord],
        leniency: str = "",
        touch_run: bool = True,
    ) -> int:
        """Store one proposal and the model calls it made; returns the proposal's id.

        `candidate_id` is the child an accepted proposal created (None otherwise); each
        call is stored with it, the proposer and the proposal id, and the proposal
        keeps the sums of the calls' cost and tokens; `leniency` names the slips of the
        answer that were forgiven to apply it. `status` is one of
        `evoforge.proposals.PROPOSAL_STATUSES` (ValueError otherwise); an unknown run
        is a `StoreError`. Also counts as activity of the run (`updated_at`).
        """
        if status not in PROPOSAL_STATUSES:
            raise ValueError(
                f"proposal status {status!r} is not one of {', '.join(PROPOSAL_STATUSES)}"
            )
        now = utcnow()
        # Core inserts, not ORM objects: this runs once per proposal.
        rows = [
            {
                "run_id": run_id,
                "candidate_id": candidate_id,
                "proposer": text(proposer),
                "model": text(call.model),
                "prompt": text(call.prompt),
                "response": text(call.response),
                "tokens_in": int(call.tokens_in),
                "tokens_out": int(call.tokens_out),
                "cost_usd": finite(call.cost_usd) or 0.0,
                "latency_s": finite(call.latency_s) or 0.0,
                "error": text(call.error),
                "created_at": now,
            }
            for call in calls
        ]
        proposal = {
            "run_id": run_id,
            "seq": seq,
            "parent_id": parent_id,
            "candidate_id": candidate_id,
            "proposer": text(proposer),
            "kind": text(kind)[:KIND_CHARS],
            "status": status,
            "reason": text(reason),
            "leniency": text(leniency)[:LENIENCY_CHARS],
            "cost_usd": sum(row["cost_usd"] for row in rows),
            "tokens_in": sum(row["tokens_in"] for row in rows),
            "tokens_out": sum(row["tokens_out"] for row in rows),
            "created_at": now,
        }
        with self._db.connection() as connection:
            if touch_run:  # False: the caller's transaction already bumped the run
                _touch_run(connection, run_id)
            proposal_id = int(
                connection.execute(_INSERT_PROPOSAL, proposal).inserted_primary_key[0]
            )
            if rows:
                connection.execute(
                    _INSERT_CALL, [{**row, "proposal_id": proposal_id} for row in rows]
                )
        return proposal_id

    def add_proposed_child(
        self,
        run_id: str,
        files: dict[str, str],
        *,
        seq: int,
        parent_id: str,
        calls: Iterable[ProposerCallRecord],
        leniency: str = "",
        **candidate: Any,
    ) -> CandidateView | None:
        """An accepted proposal's child and the proposal, in one transaction (one
        commit per proposal, not two); None when the run already has these files, the
        proposal then stored as a `duplicate`. `candidate` takes `add_candidate`'s
        keywords (`proposer` and `kind` are the proposal's too)."""
        calls = list(calls)
        proposal = {
            "seq": seq,
            "parent_id": parent_id,
            "proposer": candidate.get("proposer", ""),
            "kind": candidate.get("kind", "mutation"),
            "calls": calls,
            "leniency": leniency,
        }
        try:
            with self._db.connection():  # type: ignore[attr-defined]
                view = self.add_candidate(  # type: ignore[attr-defined]
                    run_id, files, parent_id=parent_id, **candidate
                )
                self.record_proposal(
                    run_id,
                    candidate_id=view.id if view is not None else None,
                    status="accepted" if view is not None else "duplicate",
                    reason="" if view is not None else DUPLICATE_REASON,
                    touch_run=view is None,  # storing the child bumped the run
                    **proposal,
                )
            return view
        except IntegrityError:  # another writer stored the same files a moment ago
            self.record_proposal(
                run_id, candidate_id=None, status="duplicate", reason=DUPLICATE_REASON, **proposal
            )
            return None

    def recent_rejections(self, run_id: str, limit: int = 3) -> list[RejectedAttempt]:
        """The latest proposals that produced no child (rejected or failed), newest
        first, so a proposer can avoid repeating them."""
        with self._db.session() as session:
            found = session.execute(
                select(Proposal.kind, Proposal.reason, Proposal.parent_id)
                .where(Proposal.run_id == run_id, Proposal.status.in_(NO_CHILD))
                .order_by(Proposal.id.desc())
                .limit(limit)
            ).all()
        return [
            RejectedAttempt(kind=kind, reason=reason, parent_id=parent_id)
            for kind, reason, parent_id in found
        ]

    def count_proposals(self, run_id: str) -> int:
        """Proposals recorded for the run, whatever their status."""
        with self._db.session() as session:
            return int(
                session.scalar(
                    select(func.count()).select_from(Proposal).where(Proposal.run_id == run_id)
                )
                or 0
            )

    def proposal_counts(self, run_id: str) -> dict[str, int]:
        """Proposals by status, every status present (zero if none), plus "total"."""
        with self._db.session() as session:
            return proposal_counts(session, run_id)

    def list_proposals(self, run_id: str, limit: int | None = None) -> list[dict[str, Any]]:
        """The run's proposals oldest first (the first `limit` when given), JSON-safe:
        ``{id, seq, parent_id, candidate_id, proposer, kind, status, reason, leniency,
        cost_usd, tokens_in, tokens_out, created_at}`` with `created_at` in ISO 8601 UTC."""
        query = (
            select(
                Proposal.id,
                Proposal.seq,
                Proposal.parent_id,
                Proposal.candidate_id,
                Proposal.proposer,
                Proposal.kind,
                Proposal.status,
                Proposal.reason,
                Proposal.leniency,
                Proposal.cost_usd,
                Proposal.tokens_in,
                Proposal.tokens_out,
                Proposal.created_at,
            )
            .where(Proposal.run_id == run_id)
            .order_by(Proposal.id)
        )
        if limit is not None:
            query = query.limit(limit)
        with self._db.session() as session:
            found = session.execute(query).mappings().all()
        return [{**row, "created_at": iso(row["created_at"])} for row in found]

    def rejection_reasons(self, run_id: str, limit: int = 10) -> list[dict[str, Any]]:
        """Proposals that made no child (rejected or failed), grouped by status and the
        first line of their reason as failures are (`runs.failure_reason`), most
        frequent first, at most `limit` groups: ``[{"status", "reason", "count"}]``.
        Those answers cost model calls and show up nowhere else in a run's numbers."""
        merged: dict[tuple[str, str], int] = {}
        with self._db.session() as session:
            for status, reason, number in session.execute(
                select(Proposal.status, Proposal.reason, func.count())
                .where(Proposal.run_id == run_id, Proposal.status.in_(NO_CHILD))
                .group_by(Proposal.status, Proposal.reason)
            ):
                key = (str(status), failure_reason(reason or ""))
                merged[key] = merged.get(key, 0) + int(number)
        ranked = sorted(merged.items(), key=lambda item: (-item[1], item[0]))
        return [
            {"status": status, "reason": reason, "count": count}
            for (status, reason), count in ranked[:limit]
        ]

    def proposal_calls(
        self, run_id: str, proposal_ids: Iterable[int]
    ) -> dict[int, list[dict[str, Any]]]:
        """The model calls of the given proposals of a run, oldest first per proposal:
        ``{proposal_id: [{model, prompt, response, tokens_in, tokens_out, cost_usd,
        latency_s, error}]}``. A rejected proposal has no candidate, so its prompt and
        answer are reachable only through its id."""
        wanted = list(proposal_ids)
        calls: dict[int, list[dict[str, Any]]] = {pid: [] for pid in wanted}
        if not wanted:
            return calls
        query = (
            select(
                ProposerCall.proposal_id,
                ProposerCall.model,
                ProposerCall.prompt,
                ProposerCall.response,
                ProposerCall.tokens_in,
                ProposerCall.tokens_out,
                ProposerCall.cost_usd,
                ProposerCall.latency_s,
                ProposerCall.error,
            )
            .where(ProposerCall.run_id == run_id, ProposerCall.proposal_id.in_(wanted))
            .order_by(ProposerCall.id)
        )
        with self._db.session() as session:
            for row in session.execute(query).mappings():
                calls[int(row["proposal_id"])].append(
                    {key: value for key, value in row.items() if key != "proposal_id"}
                )
        return calls


def proposal_counts(session: Session, run_id: str) -> dict[str, int]:
    """Proposals of one run by status (every status, zero if none) and "total"."""
    counts = dict.fromkeys(PROPOSAL_STATUSES, 0)
    found = session.execute(
        select(Proposal.status, func.count())
        .where(Proposal.run_id == run_id)
        .group_by(Proposal.status)
    )
    for status, count in found:
        counts[status] = int(count)
    counts["total"] = sum(counts.values())
    return counts


_INSERT_PROPOSAL = Proposal.__table__.insert()
_INSERT_CALL = ProposerCall.__table__.insert()
_TOUCH_RUN = (
    Run.__table__.update()
    .where(Run.__table__.c.id == bindparam("run_id"))
    .values(updated_at=bindparam("now"))
)


def _touch_run(connection: Connection, run_id: str) -> None:
    """Mark the run as active now; refuses an unknown run before anything is written."""
    result = connection.execute(_TOUCH_RUN, {"run_id": run_id, "now": utcnow()})
    if result.rowcount != 1:
        raise StoreError(f"no run {run_id!r} in this database")
