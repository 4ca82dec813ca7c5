"""Reading a stored evaluation back as the outcome that produced it (part of `Repository`).

A Celery worker stores its evaluation itself and hands the orchestrator what the
store holds, not what it computed: when a lost worker's job ran twice, both copies
then report the one evaluation that was kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from evoforge.jobs import EvaluationOutcome
from evoforge.store.errors import StoreError
from evoforge.store.models import Candidate, Evaluation

if TYPE_CHECKING:
    from evoforge.store.database import Database


class OutcomeQueries:
    _db: Database

    def stored_outcome(self, candidate_id: str) -> EvaluationOutcome | None:
        """The candidate's evaluation, or None while it is pending; raises
        `StoreError` when this store has no such candidate."""
        with self._db.session() as session:
            found = session.execute(
                select(Candidate.id, Evaluation)
                .outerjoin(Evaluation, Evaluation.candidate_id == Candidate.id)
                .where(Candidate.id == candidate_id)
            ).one_or_none()
        if found is None:
            raise StoreError(f"no candidate {candidate_id!r} in this database")
        row: Evaluation | None = found[1]
        if row is None:
            return None
        return EvaluationOutcome(
            status=row.status,  # type: ignore[arg-type]
            score=row.score,
            metrics=row.metrics_json or {},
            instance_scores=row.instance_scores_json,
            feedback=row.feedback,
            artifacts=row.artifacts_json or {},
            reason=row.reason,
            stage=row.stage,
            stdout=row.stdout,
            stderr=row.stderr,
            duration_s=row.duration_s,
            host=row.host,
            sandbox=row.sandbox,
        )
