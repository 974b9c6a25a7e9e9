"""Create items owned by users

Revision ID: 9c0a54914c78
Revises: e2412789c190
Create Date: 2026-01-12 09:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "9c0a54914c78"
down_revision = "e2412789c190"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    )
    op.create_index("ix_items_owner_id", "items", ["owner_id"])


def downgrade():
    op.drop_index("ix_items_owner_id", table_name="items")
    op.drop_table("items")
