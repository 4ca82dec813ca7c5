"""Every evaluation of a run as a point in time (part of `Repository`).

The UI's run page draws progress, best-so-far, per-island spread, the MAP-Elites grid
and the Pareto front from these points; reading them in one query keeps a refresh of
a 5,000-candidate run cheap while the run is still writing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from evoforge.store.models import Candidate, Evaluation
from evoforge.store.rows import iso

if TYPE_CHECKING:
    from evoforge.store.database import Database


class ProgressQueries:
    """A run's evaluations in the order they were recorded."""

    _db: Database

    def evaluation_points(self, run_id: str) -> list[dict[str, Any]]:
        """One dict per evaluation, oldest first: ``{"candidate_id", "seq" (the
        candidate's), "evaluation_seq", "status", "score", "metrics", "reason",
        "island", "generation", "parent_id", "kind", "code_length" (characters over all
        files, the default MAP-Elites feature), "duration_s", "created_at", "stage"}``.
        `stage` (the cascade stage the evaluation stopped at, or None) lets a page tell a
        strategy's screen from a result."""
        with self._db.session() as session:
            found = session.execute(
                select(
                    Candidate.id,
                    Candidate.seq,
                    Evaluation.seq,
                    Evaluation.status,
                    Evaluation.score,
                    Evaluation.metrics_json,
                    Evaluation.reason,
                    Candidate.island,
                    Candidate.generation,
                    Candidate.parent_id,
                    Candidate.kind,
                    Candidate.files_json,
                    Evaluation.duration_s,
                    Evaluation.created_at,
                    Evaluation.stage,
                )
                .join(Evaluation, Evaluation.candidate_id == Candidate.id)
                .where(Evaluation.run_id == run_id)
                .order_by(Evaluation.seq)
            ).all()
        return [
            {
                "candidate_id": cid,
                "seq": seq,
                "evaluation_seq": evaluation_seq,
                "status": status,
                "score": score,
                "metrics": dict(metrics or {}),
                "reason": reason or "",
                "island": island,
                "generation": generation,
                "parent_id": parent_id,
                "kind": kind,
                "code_length": sum(len(text) for text in (files or {}).values()),
                "duration_s": duration_s,
                "created_at": iso(created_at),
                "stage": stage,
            }
            for (
                cid,
                seq,
                evaluation_seq,
                status,
                score,
                metrics,
                reason,
                island,
                generation,
                parent_id,
                kind,
                files,
                duration_s,
                created_at,
                stage,
            ) in found  # fmt: skip
        ]
