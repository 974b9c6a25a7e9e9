"""Add member roles

Revision ID: b1c2d3e4f5a6
Revises: a0b1c2d3e4f5
"""

import sqlalchemy as sa
from alembic import op

revision = "b1c2d3e4f5a6"
down_revision = 'a0b1c2d3e4f5'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("members", sa.Column("role", sa.String(20), server_default="member"), schema="tenant")


def downgrade():
    op.drop_column("members", "role", schema="tenant")
