"""Merge slugs and plans; index organisations by name

Revision ID: 4d5e6f708192
Revises: 2b3c4d5e6f70, 3c4d5e6f7081
"""

import sqlalchemy as sa
from alembic import op

revision = "4d5e6f708192"
down_revision = ("2b3c4d5e6f70", "3c4d5e6f7081")
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_organisations_name", "organisations", ["name"])


def downgrade():
    op.drop_index("ix_organisations_name", table_name="organisations")
