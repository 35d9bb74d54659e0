"""boarding at the bus door: when a ticket was first scanned

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28 18:00:00
"""

import sqlalchemy as sa
from alembic import op


revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN: a batch copy of bookings would trip the waitlist trigger that reads it.
    op.add_column("bookings", sa.Column("boarded_at", sa.DateTime(), nullable=True))


def downgrade():
    op.drop_column("bookings", "boarded_at")
