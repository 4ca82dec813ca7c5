"""Queries about where candidates came from, and everything known about one (part of
`Repository`). Results are JSON-safe dicts: export writes them as they are and the UI
renders them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Integer, literal_column, select
from sqlalchemy.orm import aliased

from evoforge.store.errors import StoreError
from evoforge.store.models import Candidate, Evaluation, LineageEdge, Proposal, ProposerCall
from evoforge.store.rows import EdgeRow, iso

if TYPE_CHECKING:
    from evoforge.store.database import Database


class LineageQueries:
    """The lineage graph of a run, a candidate's ancestry, and a candidate's detail."""

    _db: Database

    def lineage_edges(self, run_id: str) -> list[EdgeRow]:
        """All edges of a run's lineage graph, children in creation order."""
        with self._db.session() as session:
            found = session.execute(
                select(LineageEdge.child_id, LineageEdge.parent_id, LineageEdge.kind)
                .join(Candidate, Candidate.id == LineageEdge.child_id)
                .where(Candidate.run_id == run_id)
                .order_by(Candidate.seq, LineageEdge.kind, LineageEdge.parent_id)
            )
            return [EdgeRow(*row) for row in found]

    def lineage(self, run_id: str) -> dict[str, Any]:
        """The run's graph: ``{"run_id", "nodes": [...], "edges": [...]}``.

        A node is ``{"id", "seq", "parent_id", "generation", "island", "kind",
        "proposer", "note", "status", "score", "reason", "created_at", "stage"}``
        (`status` is "pending" or the evaluation's; `reason` says why it failed; `stage`
        the cascade stage it stopped at, so a screen is not taken for a result); an edge is
        ``{"child_id", "parent_id", "kind"}`` with kind parent, inspiration or crossover.
        Files are left out: fetch them per candidate.
        """
        with self._db.session() as session:
            nodes = session.execute(
                select(
                    Candidate.id,
                    Candidate.seq,
                    Candidate.parent_id,
                    Candidate.generation,
                    Candidate.island,
                    Candidate.kind,
                    Candidate.proposer,
                    Candidate.note,
                    Candidate.status,
                    Evaluation.status,
                    Evaluation.score,
                    Evaluation.reason,
                    Candidate.created_at,
                    Evaluation.stage,
                )
                .outerjoin(Evaluation, Evaluation.candidate_id == Candidate.id)
                .where(Candidate.run_id == run_id)
                .order_by(Candidate.seq)
            ).all()
        return {
            "run_id": run_id,
            "nodes": [
                {
                    "id": cid,
                    "seq": seq,
                    "parent_id": parent_id,
                    "generation": generation,
                    "island": island,
                    "kind": kind,
                    "proposer": proposer,
                    "note": note,
                    "status": evaluation_status or status,
                    "score": score,
                    "reason": reason or "",
                    "created_at": iso(created_at),
                    "stage": stage,
                }
                for (
                    cid,
                    seq,
                    parent_id,
                    generation,
                    island,
                    kind,
                    proposer,
                    note,
                    status,
                    evaluation_status,
                    score,
                    reason,
                    created_at,
                    stage,
                ) in nodes  # fmt: skip
            ],
            "edges": [
                {"child_id": e.child_id, "parent_id": e.parent_id, "kind": e.kind}
                for e in self.lineage_edges(run_id)
            ],
        }

    def ancestry(self, candidate_id: str) -> list[dict[str, Any]]:
        """The chain of primary parents back to the seed, nearest first: each
        ``{"id", "generation", "kind", "status", "score"}``. One recursive query (the
        depth is a SQL literal, not a parameter, so PostgreSQL types both halves alike)."""
        chain = (
            select(Candidate.id, Candidate.parent_id, literal_column("0", Integer).label("depth"))
            .where(Candidate.id == candidate_id)
            .cte("chain", recursive=True)
        )
        parent = aliased(Candidate)
        chain = chain.union_all(
            select(parent.id, parent.parent_id, chain.c.depth + 1).where(
                parent.id == chain.c.parent_id
            )
        )
        with self._db.session() as session:
            found = session.execute(
                select(
                    chain.c.depth,
                    Candidate.id,
                    Candidate.generation,
                    Candidate.kind,
                    Candidate.status,
                    Evaluation.status,
                    Evaluation.score,
                )
                .join(Candidate, Candidate.id == chain.c.id)
                .outerjoin(Evaluation, Evaluation.candidate_id == Candidate.id)
                .order_by(chain.c.depth)
            ).all()
        if not found:
            raise StoreError(f"no candidate {candidate_id!r} in this database")
        return [
            {
                "id": cid,
                "generation": generation,
                "kind": kind,
                "status": evaluation_status or status,
                "score": score,
            }
            for depth, cid, generation, kind, status, evaluation_status, score in found
            if depth > 0
        ]

    def candidate_detail(self, candidate_id: str) -> dict[str, Any]:
        """Everything about one candidate, JSON-safe, for `show` and the UI:

        ``{"candidate": {id, run_id, seq, content_hash, files, diff, parent_id,
        generation, island, proposer, kind, note, status, created_at},
        "evaluation": {seq, status, score, metrics, instance_scores, feedback,
        artifacts, reason, stage, stdout, stderr, duration_s, host, sandbox,
        created_at} or null, "parents": [{id, kind}], "children": [{id, kind}],
        "proposal": {id, kind, status, reason, cost_usd, tokens_in, tokens_out} or null
        (the proposal that created the candidate; null for the seed and for runs
        recorded before proposals were), "proposer_calls": [{proposal_id, model,
        proposer, prompt, response, tokens_in, tokens_out, cost_usd, latency_s, error,
        created_at}]}``
        """
        with self._db.session() as session:
            candidate = session.get(Candidate, candidate_id)
            if candidate is None:
                raise StoreError(f"no candidate {candidate_id!r} in this database")
            evaluation = session.scalar(
                select(Evaluation).where(Evaluation.candidate_id == candidate_id)
            )
            parents = session.execute(
                select(LineageEdge.parent_id, LineageEdge.kind)
                .where(LineageEdge.child_id == candidate_id)
                .order_by(LineageEdge.kind, LineageEdge.parent_id)
            ).all()
            children = session.execute(
                select(LineageEdge.child_id, LineageEdge.kind)
                .join(Candidate, Candidate.id == LineageEdge.child_id)
                .where(LineageEdge.parent_id == candidate_id)
                .order_by(Candidate.seq, LineageEdge.kind)
            ).all()
            proposal = session.execute(
                select(
                    Proposal.id,
                    Proposal.kind,
                    Proposal.status,
                    Proposal.reason,
                    Proposal.cost_usd,
                    Proposal.tokens_in,
                    Proposal.tokens_out,
                )
                .where(Proposal.candidate_id == candidate_id)
                .order_by(Proposal.id)
                .limit(1)
            ).one_or_none()
            calls = session.scalars(
                select(ProposerCall)
                .where(ProposerCall.candidate_id == candidate_id)
                .order_by(ProposerCall.id)
            ).all()
            return {
                "candidate": _candidate_dict(candidate),
                "evaluation": _evaluation_dict(evaluation) if evaluation is not None else None,
                "parents": [{"id": pid, "kind": kind} for pid, kind in parents],
                "children": [{"id": cid, "kind": kind} for cid, kind in children],
                "proposal": _proposal_dict(*proposal) if proposal is not None else None,
                "proposer_calls": [_call_dict(call) for call in calls],
            }


def _candidate_dict(candidate: Candidate) -> dict[str, Any]:
    return {
        "id": candidate.id,
        "run_id": candidate.run_id,
        "seq": candidate.seq,
        "content_hash": candidate.content_hash,
        "files": dict(candidate.files_json),
        "diff": candidate.diff,
        "parent_id": candidate.parent_id,
        "generation": candidate.generation,
        "island": candidate.island,
        "proposer": candidate.proposer,
        "kind": candidate.kind,
        "note": candidate.note,
        "status": candidate.status,
        "created_at": iso(candidate.created_at),
    }


def _evaluation_dict(evaluation: Evaluation) -> dict[str, Any]:
    return {
        "seq": evaluation.seq,
        "status": evaluation.status,
        "score": evaluation.score,
        "metrics": dict(evaluation.metrics_json or {}),
        "instance_scores": evaluation.instance_scores_json,
        "feedback": evaluation.feedback,
        "artifacts": dict(evaluation.artifacts_json or {}),
        "reason": evaluation.reason,
        "stage": evaluation.stage,
        "stdout": evaluation.stdout,
        "stderr": evaluation.stderr,
        "duration_s": evaluation.duration_s,
        "host": evaluation.host,
        "sandbox": evaluation.sandbox,
        "created_at": iso(evaluation.created_at),
    }


def _proposal_dict(
    pid: int, kind: str, status: str, reason: str, cost: float, tokens_in: int, tokens_out: int
) -> dict[str, Any]:
    return {
        "id": pid,
        "kind": kind,
        "status": status,
        "reason": reason,
        "cost_usd": cost,
        "tokens_in": tokens_in,
        "tokens_out": tokens_out,
    }


def _call_dict(call: ProposerCall) -> dict[str, Any]:
    return {
        "proposal_id": call.proposal_id,
        "model": call.model,
        "proposer": call.proposer,
        "prompt": call.prompt,
        "response": call.response,
        "tokens_in": call.tokens_in,
        "tokens_out": call.tokens_out,
        "cost_usd": call.cost_usd,
        "latency_s": call.latency_s,
        "error": call.error,
        "created_at": iso(call.created_at),
    }
