"""Queries about candidates and their evaluations (part of `Repository`).

The orchestrator calls `add_candidate` and `record_evaluation` once per candidate, so
each is one short transaction of indexed statements whose cost does not grow with
the run: per-run `seq` numbers come from counters on the run row (bumping one locks
the run, which also serialises concurrent writers to it), never from `max(seq)` or a
count over the table.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Select,
    bindparam,
    case,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from evoforge.jobs import EVALUATION_STATUSES, EvaluationOutcome
from evoforge.proposals import SCREEN_STAGE, CandidateView
from evoforge.store.errors import StoreError
from evoforge.store.models import Candidate, Evaluation, LineageEdge, Run, utcnow
from evoforge.store.portable import finite, json_safe, text
from evoforge.store.rows import LOG_TAIL_CHARS, candidate_view
from evoforge.task import Direction, content_hash

if TYPE_CHECKING:
    from evoforge.store.database import Database

NO_SYNC = {"synchronize_session": False}


def new_candidate_id() -> str:
    return secrets.token_hex(8)


class CandidateQueries:
    """Adding candidates, recording evaluations, and reading candidates back as views."""

    _db: Database

    # -- writing -----------------------------------------------------------------

    def add_candidate(
        self,
        run_id: str,
        files: dict[str, str],
        *,
        parent_id: str | None = None,
        inspirations: Sequence[str] = (),
        crossover_parents: Sequence[str] = (),
        generation: int = 0,
        island: int = 0,
        proposer: str = "",
        kind: str = "mutation",
        note: str = "",
        diff: str = "",
    ) -> CandidateView | None:
        """Store a new candidate and its lineage edges; None if the run already has
        these files.

        Identical artifacts are never evaluated twice: the content hash is unique per
        run, checked first and enforced by a constraint, so two writers racing with
        the same files also end with one row. `seq` is the next in the run. The view
        returned has status "pending".
        """
        digest = content_hash(files)
        if self.has_hash(run_id, digest):
            return None
        candidate_id = new_candidate_id()
        try:
            with self._db.connection() as connection:
                seq = _next_seq(connection, run_id, Run.candidate_count)
                # Core inserts, not ORM objects: this runs once per proposal.
                connection.execute(
                    _INSERT_CANDIDATE,
                    dict(
                        id=candidate_id,
                        run_id=run_id,
                        seq=seq,
                        content_hash=digest,
                        files_json=dict(files),
                        diff=text(diff),
                        parent_id=parent_id,
                        generation=generation,
                        island=island,
                        proposer=proposer,
                        kind=kind,
                        note=text(note),
                        status="pending",
                        created_at=utcnow(),
                    ),
                )
                edges = _edges(candidate_id, parent_id, inspirations, crossover_parents)
                if edges:
                    connection.execute(_INSERT_EDGE, edges)
        except IntegrityError:
            if self.has_hash(run_id, digest):
                return None
            raise
        return candidate_view(
            id=candidate_id,
            files=files,
            direction="maximize",  # a pending candidate's fitness is -inf either way
            status="pending",
            generation=generation,
            island=island,
            parent_id=parent_id,
            seq=seq,
            kind=kind,
        )

    def record_evaluation(self, candidate_id: str, outcome: EvaluationOutcome) -> bool:
        """Store a candidate's evaluation and mark it evaluated, in one transaction.

        Returns False, changing nothing, when the candidate already has one: a job a
        lost worker ran twice (or a resumed run re-delivers) is stored once. Also keeps
        the run's best (valid evaluations only) and seed score current in the same
        transaction, so summaries are right even if the caller dies right after.
        """
        score = finite(outcome.score)
        try:
            with self._db.connection() as connection:
                marked = _mark_evaluated(connection, candidate_id)
                if marked is None:
                    return False
                run_id, kind = marked
                seq, run_scores = _next_evaluation(connection, run_id)
                connection.execute(
                    _INSERT_EVALUATION,
                    dict(
                        run_id=run_id,
                        candidate_id=candidate_id,
                        seq=seq,
                        status=outcome.status,
                        score=score,
                        metrics_json=json_safe(outcome.metrics),
                        instance_scores_json=json_safe(outcome.instance_scores),
                        feedback=text(outcome.feedback),
                        artifacts_json=json_safe(outcome.artifacts),
                        reason=text(outcome.reason),
                        stage=outcome.stage,
                        stdout=text(outcome.stdout),
                        stderr=text(outcome.stderr),
                        duration_s=outcome.duration_s,
                        host=outcome.host,
                        sandbox=outcome.sandbox,
                        created_at=utcnow(),
                    ),
                )
                # A screen's score is not a result; a task's cascade stage's is (as in
                # OpenEvolve), so a seed stopped at stage 1 still has a seed score.
                if outcome.status == "ok" and score is not None and outcome.stage != SCREEN_STAGE:
                    _note_valid_score(connection, run_id, candidate_id, kind, score, run_scores)
        except IntegrityError:
            if self._has_evaluation(candidate_id):
                return False
            raise
        return True

    # -- reading -----------------------------------------------------------------

    def has_hash(self, run_id: str, content_hash: str) -> bool:
        # A Core statement built once: asked before every new candidate, where the ORM
        # select cost about a sixth of the event loop's time on an instant task.
        with self._db.connection() as connection:
            found = connection.execute(_HAS_HASH, {"run_id": run_id, "content_hash": content_hash})
            return found.first() is not None

    def count_candidates(self, run_id: str) -> int:
        """Candidates created in the run (a counter read, not a scan)."""
        with self._db.session() as session:
            count = session.scalar(select(Run.candidate_count).where(Run.id == run_id))
        if count is None:
            raise StoreError(f"no run {run_id!r} in this database")
        return count

    def candidate_view(self, candidate_id: str) -> CandidateView:
        """One candidate as strategies see it, with its evaluation if it has one."""
        with self._db.session() as session:
            found = session.execute(view_query().where(Candidate.id == candidate_id)).one_or_none()
        if found is None:
            raise StoreError(f"no candidate {candidate_id!r} in this database")
        return view_from_row(found)

    def seed_candidate(self, run_id: str) -> CandidateView | None:
        """The run's seed (its first "seed" candidate), evaluated or not; None before
        one is added."""
        with self._db.session() as session:
            found = session.execute(
                view_query()
                .where(Candidate.run_id == run_id, Candidate.kind == "seed")
                .order_by(Candidate.seq)
                .limit(1)
            ).one_or_none()
        return view_from_row(found) if found is not None else None

    def pending_candidates(self, run_id: str) -> list[CandidateView]:
        """Created but not evaluated, in creation order: a resumed run evaluates these
        first."""
        with self._db.session() as session:
            found = session.execute(
                view_query()
                .where(Candidate.run_id == run_id, Candidate.status == "pending")
                .order_by(Candidate.seq)
            ).all()
        return [view_from_row(row) for row in found]

    def evaluated_candidates(self, run_id: str) -> list[CandidateView]:
        """Every evaluated candidate in evaluation order, to replay into a strategy."""
        with self._db.session() as session:
            found = session.execute(
                view_query(evaluated=True)
                .where(Evaluation.run_id == run_id)
                .order_by(Evaluation.seq)
            ).all()
        return [view_from_row(row) for row in found]

    def recent_failures(self, run_id: str, limit: int = 3) -> list[CandidateView]:
        """The latest evaluations that were not ok, newest first, for the proposer's
        context."""
        with self._db.session() as session:
            found = session.execute(
                view_query(evaluated=True)
                .where(Evaluation.run_id == run_id, Evaluation.status != "ok")
                .order_by(Evaluation.seq.desc())
                .limit(limit)
            ).all()
        return [view_from_row(row) for row in found]

    def count_evaluations(self, run_id: str) -> dict[str, int]:
        """Evaluations by status, every status present (zero if none), plus "total"."""
        with self._db.session() as session:
            return evaluation_counts(session, [run_id])[run_id]

    def best_candidate(
        self, run_id: str, direction: Direction | None = None
    ) -> CandidateView | None:
        """The best valid (`ok`) candidate; ties go to the one evaluated first.

        `direction` defaults to the run's task direction.
        """
        top = self.top_candidates(run_id, 1, direction)
        return top[0] if top else None

    def top_candidates(
        self, run_id: str, k: int, direction: Direction | None = None
    ) -> list[CandidateView]:
        """The `k` best valid candidates, best first (for export and the UI)."""
        with self._db.session() as session:
            if direction is None:
                direction = run_direction(session, run_id)  # type: ignore[assignment]
            order = Evaluation.score.desc() if direction == "maximize" else Evaluation.score.asc()
            found = session.execute(
                view_query(evaluated=True)
                .where(
                    Evaluation.run_id == run_id,
                    Evaluation.status == "ok",
                    Evaluation.score.is_not(None),
                    _not_screened(),
                )
                .order_by(order, Evaluation.seq)
                .limit(k)
            ).all()
        return [view_from_row(row) for row in found]

    def candidate_artifacts(self, candidate_id: str) -> dict[str, Any]:
        """The artifacts its evaluator attached ({} when none, or not evaluated yet)."""
        with self._db.session() as session:
            found = session.scalar(
                select(Evaluation.artifacts_json).where(Evaluation.candidate_id == candidate_id)
            )
        return dict(found or {})

    def _has_evaluation(self, candidate_id: str) -> bool:
        with self._db.session() as session:
            found = session.scalar(
                select(Evaluation.id).where(Evaluation.candidate_id == candidate_id)
            )
        return found is not None


# -- helpers shared by the other query modules ---------------------------------------


def view_query(evaluated: bool = False) -> Select[Any]:
    """Columns for `view_from_row`; `evaluated` keeps only candidates with an evaluation."""
    query = select(
        Candidate.id,
        Candidate.files_json,
        Run.direction,
        Candidate.status,
        Evaluation.status,
        Evaluation.score,
        Evaluation.metrics_json,
        Evaluation.feedback,
        Candidate.generation,
        Candidate.island,
        Candidate.parent_id,
        Candidate.seq,
        Candidate.kind,
        Evaluation.reason,
        log_tail(Evaluation.stderr),
        Evaluation.instance_scores_json,
        Evaluation.stage,
    ).join(Run, Run.id == Candidate.run_id)
    if evaluated:
        return query.join(Evaluation, Evaluation.candidate_id == Candidate.id)
    return query.outerjoin(Evaluation, Evaluation.candidate_id == Candidate.id)


def _not_screened() -> ColumnElement[bool]:
    """Evaluations whose score is a result: complete, or stopped by a task's cascade
    stage, but not a strategy's screen (`SCREEN_STAGE`)."""
    return or_(Evaluation.stage.is_(None), Evaluation.stage != SCREEN_STAGE)


def log_tail(column: Any, chars: int = LOG_TAIL_CHARS) -> ColumnElement[str]:
    """The last `chars` characters of a text column, cut by the database.

    Replaying a long run reads every evaluated candidate; cutting in SQL keeps full
    stderr (up to megabytes each) off the wire. `length` and `substr(text, start)`
    count characters on SQLite and PostgreSQL alike.
    """
    length = func.length(column)
    return case((length > chars, func.substr(column, length - (chars - 1))), else_=column)


def view_from_row(row: Row[Any]) -> CandidateView:
    (cid, files, direction, candidate_status, status, score, metrics, feedback,
     generation, island, parent_id, seq, kind, reason, tail, instance_scores,
     stage) = row  # fmt: skip
    return candidate_view(
        id=cid,
        files=files,
        direction=direction,
        status=status if status is not None else candidate_status,
        score=score,
        metrics=metrics,
        feedback=feedback or "",
        generation=generation,
        island=island,
        parent_id=parent_id,
        seq=seq,
        kind=kind,
        reason=reason or "",
        log_tail=tail or "",
        instance_scores=instance_scores,
        stage=stage,
    )


def evaluation_counts(session: Session, run_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """Per run: evaluations by status (every status, zero if none) and "total"."""
    counts = {run_id: dict.fromkeys(EVALUATION_STATUSES, 0) for run_id in run_ids}
    found = session.execute(
        select(Evaluation.run_id, Evaluation.status, func.count())
        .where(Evaluation.run_id.in_(run_ids))
        .group_by(Evaluation.run_id, Evaluation.status)
    )
    for run_id, status, count in found:
        counts[run_id][status] = count
    for by_status in counts.values():
        by_status["total"] = sum(by_status.values())
    return counts


def run_direction(session: Session, run_id: str) -> str:
    direction = session.scalar(select(Run.direction).where(Run.id == run_id))
    if direction is None:
        raise StoreError(f"no run {run_id!r} in this database")
    return direction


# Table-level statements, built once: the per-candidate writes skip the ORM's bulk
# machinery and statement caching, which cost more than the SQL on SQLite.
_INSERT_CANDIDATE = Candidate.__table__.insert()
_HAS_HASH = (
    select(Candidate.__table__.c.id)
    .where(
        Candidate.__table__.c.run_id == bindparam("run_id"),
        Candidate.__table__.c.content_hash == bindparam("content_hash"),
    )
    .limit(1)
)
_INSERT_EDGE = LineageEdge.__table__.insert()
_INSERT_EVALUATION = Evaluation.__table__.insert()
_MARK_EVALUATED = (
    Candidate.__table__.update()
    .where(
        Candidate.__table__.c.id == bindparam("candidate_id"),
        Candidate.__table__.c.status != "evaluated",
    )
    .values(status="evaluated")
    .returning(Candidate.__table__.c.run_id, Candidate.__table__.c.kind)
)
_BUMP_EVALUATIONS = (
    Run.__table__.update()
    .where(Run.__table__.c.id == bindparam("run_id"))
    .values(
        {
            Run.__table__.c.evaluation_count: Run.__table__.c.evaluation_count + 1,
            Run.__table__.c.updated_at: bindparam("now"),
        }
    )
    .returning(
        Run.__table__.c.evaluation_count,
        Run.__table__.c.direction,
        Run.__table__.c.best_score,
        Run.__table__.c.seed_score,
    )
)

RunScores = tuple[str, "float | None", "float | None"]
"""A run's direction, best score and seed score, as an evaluation found them."""


def _mark_evaluated(connection: Connection, candidate_id: str) -> tuple[str, str] | None:
    """Mark the candidate evaluated; its run and kind, or None if it already was.
    One statement where the database returns what it updated (a second writer waits
    on the row and then finds it evaluated), a read and an update elsewhere."""
    if connection.dialect.update_returning:
        marked = connection.execute(_MARK_EVALUATED, {"candidate_id": candidate_id}).first()
        if marked is not None:
            return marked[0], marked[1]
    found = connection.execute(
        select(Candidate.run_id, Candidate.status, Candidate.kind).where(
            Candidate.id == candidate_id
        )
    ).one_or_none()
    if found is None:
        raise StoreError(f"no candidate {candidate_id!r} in this database")
    run_id, status, kind = found
    if status == "evaluated":
        return None
    connection.execute(
        update(Candidate.__table__)
        .where(Candidate.__table__.c.id == candidate_id)
        .values(status="evaluated")
    )
    return run_id, kind


def _next_evaluation(connection: Connection, run_id: str) -> tuple[int, RunScores]:
    """The run's next evaluation number, and the scores a new one is compared with."""
    if connection.dialect.update_returning:
        found = connection.execute(
            _BUMP_EVALUATIONS, {"run_id": run_id, "now": utcnow()}
        ).one_or_none()
        if found is None:
            raise StoreError(f"no run {run_id!r} in this database")
        return int(found[0]), (found[1], found[2], found[3])
    seq = _next_seq(connection, run_id, Run.evaluation_count)
    direction, best, seed_score = connection.execute(
        select(Run.direction, Run.best_score, Run.seed_score).where(Run.id == run_id)
    ).one()
    return seq, (direction, best, seed_score)


def _bump(counter: Any, returning: bool) -> Any:
    runs = Run.__table__
    column = runs.c[counter.key]
    statement = (
        runs.update()
        .where(runs.c.id == bindparam("run_id"))
        .values({column: column + 1, runs.c.updated_at: bindparam("now")})
    )
    return statement.returning(column) if returning else statement


_BUMPS: dict[tuple[str, bool], Any] = {}


def _next_seq(connection: Connection, run_id: str, counter: Any) -> int:
    """Bump a run's counter and return the new value; the row lock makes it atomic.
    One statement where the database can return what it updated (SQLite 3.35+,
    PostgreSQL), an update and a read elsewhere."""
    returning = bool(connection.dialect.update_returning)
    key = (counter.key, returning)
    if key not in _BUMPS:
        _BUMPS[key] = _bump(counter, returning)
    result = connection.execute(_BUMPS[key], {"run_id": run_id, "now": utcnow()})
    if returning:
        value = result.scalar_one_or_none()
        if value is None:
            raise StoreError(f"no run {run_id!r} in this database")
        return int(value)
    if result.rowcount != 1:
        raise StoreError(f"no run {run_id!r} in this database")
    return int(connection.scalar(select(counter).where(Run.id == run_id)))


def _note_valid_score(
    connection: Connection,
    run_id: str,
    candidate_id: str,
    kind: str,
    score: float,
    run_scores: RunScores,
) -> None:
    direction, best, seed_score = run_scores
    runs = Run.__table__
    changes: dict[str, Any] = {}
    if best is None or (score > best if direction == "maximize" else score < best):
        changes.update({"best_score": score, "best_candidate_id": candidate_id})
    if kind == "seed" and seed_score is None:
        changes["seed_score"] = score
    if changes:
        connection.execute(update(runs).where(runs.c.id == run_id).values(changes))


def _edges(
    child_id: str,
    parent_id: str | None,
    inspirations: Sequence[str],
    crossover_parents: Sequence[str],
) -> list[dict[str, str]]:
    wanted: dict[tuple[str, str], None] = {}
    if parent_id is not None:
        wanted[(parent_id, "parent")] = None
    for other in inspirations:
        wanted[(other, "inspiration")] = None
    for other in crossover_parents:
        wanted[(other, "crossover")] = None
    return [{"child_id": child_id, "parent_id": p, "kind": k} for p, k in wanted]
