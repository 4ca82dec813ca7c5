"""The tables: runs, candidates, lineage edges, evaluations, split scores, proposals and
proposer calls.

Everything a run knows lives here, so a killed run resumes from the database alone
and the UI never needs the process that made the data. The schema is owned by the
Alembic migrations in `evoforge.store.migrations`; a test checks that they agree
with these models, so change both together.

Portable on purpose (SQLite now, PostgreSQL for multi-machine runs): JSON columns use
`sqlalchemy.JSON`, timestamps are stored in UTC and always read back time-zone aware,
ids are generated in Python, and every constraint and index has a stable name.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

RUN_STATUSES: tuple[str, ...] = ("running", "finished", "failed", "interrupted")
"""A run is `running` until the orchestrator records how it ended."""

CANDIDATE_KINDS: tuple[str, ...] = ("seed", "mutation", "diff", "rewrite", "crossover")
"""The kinds built-in proposers write; third-party proposers may store others."""

CANDIDATE_STATUSES: tuple[str, ...] = ("pending", "evaluated")
EDGE_KINDS: tuple[str, ...] = ("parent", "inspiration", "crossover")

# Stable constraint names: Alembic can only alter or drop what it can name, and
# PostgreSQL and SQLite would otherwise invent different names for the same thing.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned time-zone aware.

    SQLite keeps no zone and PostgreSQL converts to the session zone; normalising at
    the boundary means callers compare and subtract timestamps without surprises.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        dict[str, Any]: JSON,
        datetime: UTCDateTime,
    }


class Run(Base):
    """One evolution run of one task.

    `candidate_count` and `evaluation_count` double as the per-run sequence counters:
    bumping them is how `seq` numbers are handed out atomically (the row update locks
    the run), and they make listing runs with counts a single-table read.
    """

    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    task_name: Mapped[str] = mapped_column(String(255), index=True)
    task_source: Mapped[str] = mapped_column(Text, default="")
    task_json: Mapped[dict[str, Any]] = mapped_column(JSON)
    config_json: Mapped[dict[str, Any]] = mapped_column(JSON)
    direction: Mapped[str] = mapped_column(String(16), default="maximize")
    status: Mapped[str] = mapped_column(String(16), default="running")
    stop_reason: Mapped[str] = mapped_column(Text, default="")
    seed: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    best_candidate_id: Mapped[str | None] = mapped_column(String(32))
    best_score: Mapped[float | None] = mapped_column(Float)
    seed_score: Mapped[float | None] = mapped_column(Float)
    candidate_count: Mapped[int] = mapped_column(Integer, default=0)
    evaluation_count: Mapped[int] = mapped_column(Integer, default=0)


class Candidate(Base):
    """One artifact version. `content_hash` is unique per run: the dedup guarantee."""

    __tablename__ = "candidates"
    __table_args__ = (
        UniqueConstraint("run_id", "seq"),
        UniqueConstraint("run_id", "content_hash"),
        # What a resumed run must evaluate first, in creation order.
        Index("ix_candidates_run_id_status_seq", "run_id", "status", "seq"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(32), ForeignKey("runs.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    files_json: Mapped[dict[str, Any]] = mapped_column(JSON)
    diff: Mapped[str] = mapped_column(Text, default="")
    parent_id: Mapped[str | None] = mapped_column(String(32), ForeignKey("candidates.id"))
    generation: Mapped[int] = mapped_column(Integer, default=0)
    island: Mapped[int] = mapped_column(Integer, default=0)
    proposer: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(32), default="mutation")
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LineageEdge(Base):
    """Where a candidate came from: its parent, inspirations and crossover mates."""

    __tablename__ = "lineage_edges"

    child_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("candidates.id", ondelete="CASCADE"), primary_key=True
    )
    parent_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("candidates.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)


class Evaluation(Base):
    """The outcome of evaluating one candidate; at most one per candidate."""

    __tablename__ = "evaluations"
    __table_args__ = (
        UniqueConstraint("run_id", "seq"),
        # Best / top-k of a run: valid evaluations ordered by score.
        Index("ix_evaluations_run_id_status_score", "run_id", "status", "score"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(32), ForeignKey("runs.id", ondelete="CASCADE"))
    candidate_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("candidates.id", ondelete="CASCADE"), unique=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    score: Mapped[float | None] = mapped_column(Float)
    metrics_json: Mapped[dict[str, Any]] = mapped_column(JSON)
    instance_scores_json: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    feedback: Mapped[str] = mapped_column(Text, default="")
    artifacts_json: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text, default="")
    stage: Mapped[str | None] = mapped_column(Text)
    stdout: Mapped[str] = mapped_column(Text, default="")
    stderr: Mapped[str] = mapped_column(Text, default="")
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    host: Mapped[str] = mapped_column(Text, default="")
    sandbox: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SplitScore(Base):
    """A candidate's score on the validation, test or public split.

    Kept apart from `evaluations` on purpose: the search acts only on training
    scores, and a row here must never feed a strategy or a proposer's prompt. Scored
    when a run ends, for the candidates it ranks highest (validation) and those it
    would export (test), so the gap between the splits shows overfitting.
    """

    __tablename__ = "split_scores"
    __table_args__ = (UniqueConstraint("candidate_id", "split"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("runs.id", ondelete="CASCADE"), index=True
    )
    candidate_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("candidates.id", ondelete="CASCADE")
    )
    split: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    score: Mapped[float | None] = mapped_column(Float)
    instance_scores_json: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    metrics_json: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    """The evaluation's metrics: a public protocol's figures in its own units."""
    reason: Mapped[str] = mapped_column(Text, default="")
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Proposal(Base):
    """One answer the orchestrator got when it asked a proposer for a child.

    Candidates record only the proposals that produced something new; most of a model
    proposer's attempts end otherwise (a duplicate, a diff that does not apply, every
    call erroring) and still cost money. Keeping every attempt with its status
    (`evoforge.proposals.PROPOSAL_STATUSES`) and reason is what lets `show` report
    acceptance rates and cost per improvement, and lets proposers see recent
    rejections. `seq` is the orchestrator's proposal number and may repeat after a
    resume; `id` orders proposals. Cost and tokens are the sums of the proposal's
    calls, stored so reports need no join.
    """

    __tablename__ = "proposals"
    __table_args__ = (
        # A run's proposals, newest or oldest first.
        Index("ix_proposals_run_id_id", "run_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(32), ForeignKey("runs.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    parent_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("candidates.id", ondelete="SET NULL")
    )
    candidate_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("candidates.id", ondelete="SET NULL"), index=True
    )
    proposer: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(32), default="")
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    leniency: Mapped[str] = mapped_column(String(64), default="", server_default="")
    """The slips of the answer forgiven to apply it, comma separated (`crlf`,
    `trailing_whitespace`; see plugins/proposers/llm/leniency.py); empty for none."""
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    tokens_in: Mapped[int] = mapped_column(Integer, default=0)
    tokens_out: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProposerCall(Base):
    """One costed model call made while proposing, kept even when the proposal failed.

    `proposal_id` links the call to its proposal (null for calls stored before
    proposals were recorded); `candidate_id` is the child an accepted proposal made,
    so spend per model and per child needs no join.
    """

    __tablename__ = "proposer_calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("runs.id", ondelete="CASCADE"), index=True
    )
    candidate_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("candidates.id", ondelete="SET NULL"), index=True
    )
    proposal_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("proposals.id", ondelete="CASCADE"), index=True
    )
    proposer: Mapped[str] = mapped_column(Text, default="")
    model: Mapped[str] = mapped_column(Text, default="")
    prompt: Mapped[str] = mapped_column(Text, default="")
    response: Mapped[str] = mapped_column(Text, default="")
    tokens_in: Mapped[int] = mapped_column(Integer, default=0)
    tokens_out: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    latency_s: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
