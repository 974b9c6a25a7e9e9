"""create runs table and run_status enum

Revision ID: 3f9a1c2b7d10
Revises:
Create Date: 2025-12-01 09:14:22.481307

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "3f9a1c2b7d10"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUN_STATUSES = ("pending", "queued", "running", "completed", "failed", "cancelled")


def upgrade() -> None:
    """Create runs; on PostgreSQL the status column is a native enum type."""
    op.create_table(
        "runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("company_name", sa.String(length=200), nullable=False),
        sa.Column(
            "status",
            sa.Enum(*RUN_STATUSES, name="run_status"),
            server_default="pending",
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
    )


def downgrade() -> None:
    """Drop runs and, on PostgreSQL, the enum type it used."""
    op.drop_table("runs")
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        sa.Enum(*RUN_STATUSES, name="run_status").drop(bind, checkfirst=True)
