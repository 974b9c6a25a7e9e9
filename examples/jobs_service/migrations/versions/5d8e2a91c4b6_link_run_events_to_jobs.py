"""link run events to the job that produced them

Revision ID: 5d8e2a91c4b6
Revises: a4c7e2d91b38
Create Date: 2025-12-18 08:45:13.550297

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "5d8e2a91c4b6"
down_revision: str | Sequence[str] | None = "a4c7e2d91b38"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add run_events.job_id with a foreign key that survives job deletion."""
    with op.batch_alter_table("run_events") as batch_op:
        batch_op.add_column(sa.Column("job_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_run_events_job_id_jobs", "jobs", ["job_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_index("ix_run_events_job_id", ["job_id"])


def downgrade() -> None:
    """Remove run_events.job_id."""
    with op.batch_alter_table("run_events") as batch_op:
        batch_op.drop_index("ix_run_events_job_id")
        batch_op.drop_constraint("fk_run_events_job_id_jobs", type_="foreignkey")
        batch_op.drop_column("job_id")
