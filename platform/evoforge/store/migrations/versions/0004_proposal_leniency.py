"""Proposal leniency: which slips of a model's answer were forgiven to apply it.

Existing proposals get an empty value: they were applied before slips were noted.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("proposals") as batch:
        batch.add_column(sa.Column("leniency", sa.String(64), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("proposals") as batch:
        batch.drop_column("leniency")
