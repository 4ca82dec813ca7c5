"""Split scores: each candidate's validation and test scores, apart from training.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "split_scores",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("candidate_id", sa.String(32), nullable=False),
        sa.Column("split", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("instance_scores_json", sa.JSON(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_split_scores"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_split_scores_run_id_runs", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidates.id"],
            name="fk_split_scores_candidate_id_candidates",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("candidate_id", "split", name="uq_split_scores_candidate_id_split"),
    )
    op.create_index("ix_split_scores_run_id", "split_scores", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_split_scores_run_id", table_name="split_scores")
    op.drop_table("split_scores")
