"""Validation and test scores (part of `Repository`).

The search sees only training scores; these rows say how the candidates it ranked
highest do on instances it never saw, and which one a run exports when it selects
on validation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from evoforge.jobs import EvaluationOutcome
from evoforge.proposals import CandidateView
from evoforge.store.candidates import run_direction, view_from_row, view_query
from evoforge.store.errors import StoreError
from evoforge.store.models import Candidate, Evaluation, Run, SplitScore, utcnow
from evoforge.store.portable import finite, json_safe, text
from evoforge.task import SPLITS as SPLIT_NAMES

if TYPE_CHECKING:
    from evoforge.store.database import Database


class SplitQueries:
    _db: Database

    def record_split_score(self, candidate_id: str, split: str, outcome: EvaluationOutcome) -> bool:
        """Store one split's score; False (changing nothing) if it is already stored."""
        try:
            with self._db.session() as session:
                run_id = session.scalar(
                    select(Candidate.run_id).where(Candidate.id == candidate_id)
                )
                if run_id is None:
                    raise StoreError(f"no candidate {candidate_id!r} in this database")
                session.add(
                    SplitScore(
                        run_id=run_id,
                        candidate_id=candidate_id,
                        split=split,
                        status=outcome.status,
                        score=finite(outcome.score),
                        instance_scores_json=json_safe(outcome.instance_scores),
                        metrics_json=json_safe(outcome.metrics),
                        reason=text(outcome.reason),
                        duration_s=outcome.duration_s,
                        created_at=utcnow(),
                    )
                )
        except IntegrityError:
            return False
        return True

    def split_scores(self, run_id: str) -> dict[str, dict[str, dict[str, Any]]]:
        """candidate id -> split -> {status, score, reason, instance_scores, metrics}."""
        with self._db.session() as session:
            rows = session.scalars(select(SplitScore).where(SplitScore.run_id == run_id)).all()
            found: dict[str, dict[str, dict[str, Any]]] = {}
            for row in rows:
                found.setdefault(row.candidate_id, {})[row.split] = {
                    "status": row.status,
                    "score": row.score,
                    "reason": row.reason,
                    "instance_scores": row.instance_scores_json,
                    "metrics": row.metrics_json or {},
                }
        return found

    def best_on_validation(self, run_id: str) -> CandidateView | None:
        """The candidate with the best valid validation score; ties go to the one whose
        training evaluation came first. None when nothing was validated."""
        with self._db.session() as session:
            direction = run_direction(session, run_id)
            order = SplitScore.score.desc() if direction == "maximize" else SplitScore.score.asc()
            row = session.execute(
                view_query(evaluated=True)
                .join(SplitScore, SplitScore.candidate_id == Candidate.id)
                .where(
                    SplitScore.run_id == run_id,
                    SplitScore.split == "validation",
                    SplitScore.status == "ok",
                    SplitScore.score.is_not(None),
                )
                .order_by(order, Evaluation.seq)
                .limit(1)
            ).first()
        return view_from_row(row) if row is not None else None

    def generalization(self, run_id: str) -> dict[str, Any]:
        """Train, validation and test side by side for the candidates that matter: the
        seed, the best on training and the best on validation (one row each, roles
        merged where they are the same candidate), plus the task's baselines as its
        README documents them. Empty rows when the task has no validation or test split.

        Keys: ``select_on`` (train | validation), ``splits`` (the splits the task has),
        ``rows`` (each ``{"candidate_id", "roles", "train", "validation", "test",
        "public", "public_metrics"}``, the last the public protocol's figures in its units,
        a score or null) and ``baselines`` (each ``{"name", "note", "train",
        "validation", "test"}``).
        """
        with self._db.session() as session:
            run = session.get(Run, run_id)
            if run is None:
                raise StoreError(f"no run {run_id!r} in this database")
            task_json, config_json = run.task_json, run.config_json
        splits = ["train"] + [
            split
            for split, key in (
                ("validation", "validation_instances"),
                ("test", "test_instances"),
                ("public", "public_instances"),
            )
            if task_json.get(key)
        ]
        report: dict[str, Any] = {
            "select_on": (config_json or {}).get("select_on", "train"),
            "splits": splits,
            "rows": [],
            "baselines": [
                {
                    "name": baseline.get("name", ""),
                    "note": baseline.get("note", ""),
                    **{split: baseline.get("scores", {}).get(split) for split in SPLIT_NAMES},
                }
                for baseline in task_json.get("baselines") or []
            ],
        }
        if len(splits) == 1:
            return report
        scores = self.split_scores(run_id)
        roles: dict[str, list[str]] = {}
        views: dict[str, CandidateView] = {}
        for role, view in (
            ("seed", self.seed_candidate(run_id)),  # type: ignore[attr-defined]
            ("best on train", self.best_candidate(run_id)),  # type: ignore[attr-defined]
            ("best on validation", self.best_on_validation(run_id)),
        ):
            if view is not None:
                roles.setdefault(view.id, []).append(role)
                views[view.id] = view
        for cid, names in roles.items():
            row: dict[str, Any] = {"candidate_id": cid, "roles": names}
            row["train"] = views[cid].score if views[cid].scored else None
            for split in SPLIT_NAMES[1:]:
                found = scores.get(cid, {}).get(split)
                row[split] = found["score"] if found and found["status"] == "ok" else None
            public = scores.get(cid, {}).get("public")
            # The public benchmark's own units (its cost, makespan, pressure) beside its score.
            row["public_metrics"] = public["metrics"] if public and public["status"] == "ok" else {}
            report["rows"].append(row)
        return report
