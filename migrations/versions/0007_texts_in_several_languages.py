"""texts in several languages: a race file may give any text as { ja = "…", en = "…" }

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 10:00:00

Each table with texts from the race file gets `texts` (JSON: field -> language -> text); the
existing columns keep the text in the race's own language, which `events.language` names.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLES = ("events", "categories", "checkpoints", "gear_items", "schedule_items", "shuttle_routes")


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("texts", sa.JSON(), nullable=True))
        op.execute(sa.text(f"UPDATE {table} SET texts = '{{}}'"))
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("texts", existing_type=sa.JSON(), nullable=False)
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("language", sa.String(length=12), nullable=False, server_default="en")
        )


def downgrade():
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("language")
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("texts")
