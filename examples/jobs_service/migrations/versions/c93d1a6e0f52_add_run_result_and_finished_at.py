"""add run result and finished_at

Revision ID: c93d1a6e0f52
Revises: 5d8e2a91c4b6
Create Date: 2025-12-22 17:09:38.118460

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "c93d1a6e0f52"
down_revision: str | Sequence[str] | None = "5d8e2a91c4b6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Keep the research summary and completion time on the run itself."""
    op.add_column(
        "runs",
        sa.Column("result", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
    )
    op.add_column("runs", sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Drop the result columns."""
    with op.batch_alter_table("runs") as batch_op:
        batch_op.drop_column("finished_at")
        batch_op.drop_column("result")
