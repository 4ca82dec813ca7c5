"""What a run's proposing cost and what it bought (part of `Repository`).

Money is spent per model call, but value arrives per evaluation: a call pays off when
the child it wrote sets a new best score. `spend_report` joins the two without
per-row queries (grouped sums over the calls, one ordered scan of the valid
evaluations), so `evoforge show` stays fast on long runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, select

from evoforge.store.candidates import run_direction
from evoforge.store.models import Candidate, Evaluation, ProposerCall
from evoforge.store.proposals import proposal_counts

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from evoforge.store.database import Database


class SpendQueries:
    """Spend per model and cost per improvement."""

    _db: Database

    def spend_report(self, run_id: str) -> dict[str, Any]:
        """The run's spend and what it bought, JSON-safe:

        - ``spend_usd``, ``calls``, ``errors`` (calls whose error is not empty),
          ``tokens_in``, ``tokens_out``: totals over every proposer call
        - ``improvements``: evaluations that set a new best valid score, in
          evaluation order and the run's direction; the seed sets the starting best
          without counting (if it has no valid score, the first valid child counts)
        - ``cost_per_improvement``: ``spend_usd / improvements``, null when none
        - ``proposals``: counts ``{"accepted", "duplicate", "rejected", "failed",
          "total"}``
        - ``models``: per model, most expensive first (then by name): ``{"model",
          "calls", "errors", "tokens_in", "tokens_out", "cost_usd", "children"
          (distinct candidates an error-free call of the model wrote),
          "improvements" (those children that set a new best),
          "cost_per_improvement"}``

        A `StoreError` for an unknown run.
        """
        with self._db.session() as session:
            improved = _improvements(session, run_id, run_direction(session, run_id))
            per_model = _calls_by_model(session, run_id)
            children = _children_by_model(session, run_id)
            proposals = proposal_counts(session, run_id)
        models = []
        for model, (calls, errors, tokens_in, tokens_out, cost) in per_model.items():
            written = children.get(model, set())
            better = len(written & improved)
            models.append(
                {
                    "model": model,
                    "calls": calls,
                    "errors": errors,
                    "tokens_in": tokens_in,
                    "tokens_out": tokens_out,
                    "cost_usd": cost,
                    "children": len(written),
                    "improvements": better,
                    "cost_per_improvement": cost / better if better else None,
                }
            )
        models.sort(key=lambda entry: (-entry["cost_usd"], entry["model"]))
        spend = sum(entry["cost_usd"] for entry in models)
        return {
            "spend_usd": spend,
            "calls": sum(entry["calls"] for entry in models),
            "errors": sum(entry["errors"] for entry in models),
            "tokens_in": sum(entry["tokens_in"] for entry in models),
            "tokens_out": sum(entry["tokens_out"] for entry in models),
            "improvements": len(improved),
            "cost_per_improvement": spend / len(improved) if improved else None,
            "proposals": proposals,
            "models": models,
        }


def _calls_by_model(session: Session, run_id: str) -> dict[str, tuple[int, int, int, int, float]]:
    """Per model: calls, errored calls, tokens in, tokens out, dollars."""
    errored = case((ProposerCall.error != "", 1), else_=0)
    found = session.execute(
        select(
            ProposerCall.model,
            func.count(),
            func.sum(errored),
            func.sum(ProposerCall.tokens_in),
            func.sum(ProposerCall.tokens_out),
            func.sum(ProposerCall.cost_usd),
        )
        .where(ProposerCall.run_id == run_id)
        .group_by(ProposerCall.model)
    )
    return {
        model: (int(calls), int(errors or 0), int(t_in or 0), int(t_out or 0), float(cost or 0))
        for model, calls, errors, t_in, t_out, cost in found
    }


def _children_by_model(session: Session, run_id: str) -> dict[str, set[str]]:
    """Per model, the candidates written by a call of it that did not error."""
    found = session.execute(
        select(ProposerCall.model, ProposerCall.candidate_id)
        .where(
            ProposerCall.run_id == run_id,
            ProposerCall.error == "",
            ProposerCall.candidate_id.is_not(None),
        )
        .distinct()
    )
    children: dict[str, set[str]] = {}
    for model, candidate_id in found:
        children.setdefault(model, set()).add(candidate_id)
    return children


def _improvements(session: Session, run_id: str, direction: str) -> set[str]:
    """Ids of the non-seed candidates whose valid score beat every earlier one."""
    found = session.execute(
        select(Evaluation.candidate_id, Candidate.kind, Evaluation.status, Evaluation.score)
        .join(Candidate, Candidate.id == Evaluation.candidate_id)
        .where(
            Evaluation.run_id == run_id,
            Evaluation.status == "ok",
            Evaluation.score.is_not(None),
        )
        .order_by(Evaluation.seq)
    )
    sign = 1.0 if direction == "maximize" else -1.0
    best: float | None = None
    improved: set[str] = set()
    for candidate_id, kind, _status, score in found:
        fitness = sign * score
        if best is not None and fitness <= best:
            continue
        if kind != "seed":
            improved.add(candidate_id)
        best = fitness
    return improved
