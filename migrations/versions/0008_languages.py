"""two languages: the one a user chose, a device's, and texts written in each

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 11:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COLUMNS = (
    ("users", sa.Column("language", sa.String(length=12), nullable=True)),
    ("push_subscriptions", sa.Column("language", sa.String(length=12), nullable=True)),
    ("alerts", sa.Column("texts", sa.JSON(), nullable=True)),
    ("notices", sa.Column("texts", sa.JSON(), nullable=True)),
)


def upgrade():
    for table, column in COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(column)


def downgrade():
    for table, column in reversed(COLUMNS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column(column.name)
