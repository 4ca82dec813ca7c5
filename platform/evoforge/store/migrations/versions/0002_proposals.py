"""Proposals: every answer a proposer gave, with its status, reason and cost.

Adds the `proposals` table and links each proposer call to its proposal. Existing
calls keep a null `proposal_id`: they were stored before proposals were recorded.
On SQLite the new foreign key needs the calls table rebuilt, which
`batch_alter_table` does (copying the rows); elsewhere it is a plain ALTER.

Revision ID: 0002
Revises: 0001
Create Date: 2026-05-16
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "proposals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.String(32), nullable=True),
        sa.Column("candidate_id", sa.String(32), nullable=True),
        sa.Column("proposer", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("tokens_in", sa.Integer(), nullable=False),
        sa.Column("tokens_out", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_proposals"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_proposals_run_id_runs", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["candidates.id"],
            name="fk_proposals_parent_id_candidates",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidates.id"],
            name="fk_proposals_candidate_id_candidates",
            ondelete="SET NULL",
        ),
    )
    op.create_index("ix_proposals_run_id_id", "proposals", ["run_id", "id"])
    op.create_index("ix_proposals_candidate_id", "proposals", ["candidate_id"])

    with op.batch_alter_table("proposer_calls") as batch:
        batch.add_column(sa.Column("proposal_id", sa.Integer(), nullable=True))
        batch.create_index("ix_proposer_calls_proposal_id", ["proposal_id"])
        batch.create_foreign_key(
            "fk_proposer_calls_proposal_id_proposals",
            "proposals",
            ["proposal_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("proposer_calls") as batch:
        batch.drop_constraint("fk_proposer_calls_proposal_id_proposals", type_="foreignkey")
        batch.drop_index("ix_proposer_calls_proposal_id")
        batch.drop_column("proposal_id")
    op.drop_index("ix_proposals_candidate_id", table_name="proposals")
    op.drop_index("ix_proposals_run_id_id", table_name="proposals")
    op.drop_table("proposals")
