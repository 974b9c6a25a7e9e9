"""job state index

Revision ID: 0a9b8c7d6e5f
Revises: 7f3e2d1c0b9a
Create Date: 2026-02-03 08:00:00.000000

"""
from typing import Sequence, Union

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0a9b8c7d6e5f"
down_revision: Union[str, None] = "7f3e2d1c0b9a"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

STATE: list[str] = ["state"]


def upgrade() -> None:
    op.create_index("ix_jobs_state", "jobs", STATE)


def downgrade() -> None:
    op.drop_index("ix_jobs_state", table_name="jobs")
