"""Create plans

Revision ID: 3c4d5e6f7081
Revises: 1a2b3c4d5e6f
"""

import sqlalchemy as sa
from alembic import op

revision = "3c4d5e6f7081"
down_revision = '1a2b3c4d5e6f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "plans",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(40), nullable=False, unique=True),
    )


def downgrade():
    op.drop_table("plans")
