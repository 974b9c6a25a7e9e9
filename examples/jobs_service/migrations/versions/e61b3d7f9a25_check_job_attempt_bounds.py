"""check job attempt bounds

Revision ID: e61b3d7f9a25
Revises: b27e9f4c6a13
Create Date: 2025-12-09 16:52:40.033871

"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "e61b3d7f9a25"
down_revision: str | Sequence[str] | None = "b27e9f4c6a13"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BOUNDS = "attempt_count >= 0 AND max_attempts >= 1 AND attempt_count <= max_attempts"


def upgrade() -> None:
    """Reject negative counters and attempts beyond the limit (SQLite rebuilds the table)."""
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.create_check_constraint("ck_jobs_attempts", BOUNDS)


def downgrade() -> None:
    """Drop the attempt bounds check."""
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.drop_constraint("ck_jobs_attempts", type_="check")
