"""Link organisations to plans

Revision ID: 5e6f708192a3
Revises: 4d5e6f708192
"""

import sqlalchemy as sa
from alembic import op

revision = "5e6f708192a3"
down_revision = '4d5e6f708192'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("organisations", sa.Column("plan_id", sa.Integer(), sa.ForeignKey("plans.id")))


def downgrade():
    op.drop_column("organisations", "plan_id")
