"""Initial schema: runs, candidates, lineage edges, evaluations, proposer calls.

Revision ID: 0001
Revises:
Create Date: 2026-05-09
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("task_name", sa.String(255), nullable=False),
        sa.Column("task_source", sa.Text(), nullable=False),
        sa.Column("task_json", sa.JSON(), nullable=False),
        sa.Column("config_json", sa.JSON(), nullable=False),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("stop_reason", sa.Text(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=True),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        _timestamp("finished_at", nullable=True),
        sa.Column("best_candidate_id", sa.String(32), nullable=True),
        sa.Column("best_score", sa.Float(), nullable=True),
        sa.Column("seed_score", sa.Float(), nullable=True),
        sa.Column("candidate_count", sa.Integer(), nullable=False),
        sa.Column("evaluation_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
    )
    op.create_index("ix_runs_created_at", "runs", ["created_at"])
    op.create_index("ix_runs_task_name", "runs", ["task_name"])

    op.create_table(
        "candidates",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("files_json", sa.JSON(), nullable=False),
        sa.Column("diff", sa.Text(), nullable=False),
        sa.Column("parent_id", sa.String(32), nullable=True),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("island", sa.Integer(), nullable=False),
        sa.Column("proposer", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_candidates"),
        sa.UniqueConstraint("run_id", "seq", name="uq_candidates_run_id_seq"),
        sa.UniqueConstraint("run_id", "content_hash", name="uq_candidates_run_id_content_hash"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_candidates_run_id_runs", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["candidates.id"], name="fk_candidates_parent_id_candidates"
        ),
    )
    op.create_index("ix_candidates_run_id_status_seq", "candidates", ["run_id", "status", "seq"])

    op.create_table(
        "evaluations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("candidate_id", sa.String(32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("metrics_json", sa.JSON(), nullable=False),
        sa.Column("instance_scores_json", sa.JSON(), nullable=True),
        sa.Column("feedback", sa.Text(), nullable=False),
        sa.Column("artifacts_json", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("stage", sa.Text(), nullable=True),
        sa.Column("stdout", sa.Text(), nullable=False),
        sa.Column("stderr", sa.Text(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("host", sa.Text(), nullable=False),
        sa.Column("sandbox", sa.Text(), nullable=False),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_evaluations"),
        sa.UniqueConstraint("run_id", "seq", name="uq_evaluations_run_id_seq"),
        sa.UniqueConstraint("candidate_id", name="uq_evaluations_candidate_id"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_evaluations_run_id_runs", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidates.id"],
            name="fk_evaluations_candidate_id_candidates",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_evaluations_run_id_status_score", "evaluations", ["run_id", "status", "score"]
    )

    op.create_table(
        "lineage_edges",
        sa.Column("child_id", sa.String(32), nullable=False),
        sa.Column("parent_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("child_id", "parent_id", "kind", name="pk_lineage_edges"),
        sa.ForeignKeyConstraint(
            ["child_id"],
            ["candidates.id"],
            name="fk_lineage_edges_child_id_candidates",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["candidates.id"],
            name="fk_lineage_edges_parent_id_candidates",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_lineage_edges_parent_id", "lineage_edges", ["parent_id"])

    op.create_table(
        "proposer_calls",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("candidate_id", sa.String(32), nullable=True),
        sa.Column("proposer", sa.Text(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("tokens_in", sa.Integer(), nullable=False),
        sa.Column("tokens_out", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("latency_s", sa.Float(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_proposer_calls"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_proposer_calls_run_id_runs", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidates.id"],
            name="fk_proposer_calls_candidate_id_candidates",
            ondelete="SET NULL",
        ),
    )
    op.create_index("ix_proposer_calls_run_id", "proposer_calls", ["run_id"])
    op.create_index("ix_proposer_calls_candidate_id", "proposer_calls", ["candidate_id"])


def downgrade() -> None:
    op.drop_table("proposer_calls")
    op.drop_table("lineage_edges")
    op.drop_table("evaluations")
    op.drop_table("candidates")
    op.drop_table("runs")
