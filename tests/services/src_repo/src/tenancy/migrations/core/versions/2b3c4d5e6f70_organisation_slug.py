"""Add organisation slugs

Revision ID: 2b3c4d5e6f70
Revises: 1a2b3c4d5e6f
"""

import sqlalchemy as sa
from alembic import op

revision = "2b3c4d5e6f70"
down_revision = '1a2b3c4d5e6f'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("organisations", sa.Column("slug", sa.String(80)))
    op.create_unique_constraint("uq_organisations_slug", "organisations", ["slug"])


def downgrade():
    op.drop_constraint("uq_organisations_slug", "organisations")
    op.drop_column("organisations", "slug")
