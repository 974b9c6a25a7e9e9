"""Create users

Revision ID: e2412789c190
Revises:
Create Date: 2026-01-10 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "e2412789c190"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(255), nullable=False, unique=True),
        sa.Column("full_name", sa.String(255)),
    )


def downgrade():
    op.drop_table("users")
