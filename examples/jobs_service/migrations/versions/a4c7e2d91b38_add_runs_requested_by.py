"""add runs.requested_by and an index for listing runs by status

Revision ID: a4c7e2d91b38
Revises: e61b3d7f9a25
Create Date: 2025-12-15 11:20:04.671925

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "a4c7e2d91b38"
down_revision: str | Sequence[str] | None = "e61b3d7f9a25"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Record who asked for a run and index runs by status and age."""
    op.add_column("runs", sa.Column("requested_by", sa.String(length=120), nullable=True))
    op.create_index("ix_runs_status_created_at", "runs", ["status", "created_at"])


def downgrade() -> None:
    """Remove the requester column and its listing index."""
    op.drop_index("ix_runs_status_created_at", table_name="runs")
    with op.batch_alter_table("runs") as batch_op:
        batch_op.drop_column("requested_by")
