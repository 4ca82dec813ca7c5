"""Split scores keep the evaluation's metrics: a public protocol reports in its own
units (dollars, makespan, KV pressure) beside its score.

Existing rows get no metrics: they were scored before metrics were kept.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("split_scores") as batch:
        batch.add_column(sa.Column("metrics_json", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("split_scores") as batch:
        batch.drop_column("metrics_json")
