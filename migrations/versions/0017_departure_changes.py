"""bus operations: a departure can be cancelled or delayed on the day

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-28 21:00:00
"""

import sqlalchemy as sa
from alembic import op


revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN: a batch copy would trip the triggers that read the departures.
    op.add_column(
        "shuttle_departures",
        sa.Column("delay_minutes", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column("shuttle_departures", sa.Column("cancelled_at", sa.DateTime(), nullable=True))


def downgrade():
    op.drop_column("shuttle_departures", "cancelled_at")
    op.drop_column("shuttle_departures", "delay_minutes")
