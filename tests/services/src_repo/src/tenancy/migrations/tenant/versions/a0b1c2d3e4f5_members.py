"""Create members

Revision ID: a0b1c2d3e4f5
Revises: None
"""

import sqlalchemy as sa
from alembic import op

revision = "a0b1c2d3e4f5"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "members",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(255), nullable=False),
        schema="tenant",
    )


def downgrade():
    op.drop_table("members", schema="tenant")
