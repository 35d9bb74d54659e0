"""alert corrections: an edit or a withdrawal is a new revision of what phones show

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-28 20:30:00
"""

import sqlalchemy as sa
from alembic import op


revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "alerts", sa.Column("revision", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column("alerts", sa.Column("revised_at", sa.DateTime(), nullable=True))
    op.add_column("alerts", sa.Column("retracted_at", sa.DateTime(), nullable=True))


def downgrade():
    op.drop_column("alerts", "retracted_at")
    op.drop_column("alerts", "revised_at")
    op.drop_column("alerts", "revision")
