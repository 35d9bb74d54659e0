"""drop-out reports: where a runner stopped, how they get back, accounted for by headquarters

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28 15:15:00
"""

import sqlalchemy as sa
from alembic import op


revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "drop_outs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("client_key", sa.String(length=64), nullable=False),
        sa.Column("reported_at", sa.DateTime(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("checkpoint_id", sa.Integer(), nullable=True),
        sa.Column("place", sa.String(length=300), nullable=True),
        sa.Column("getting_back", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("position_at", sa.DateTime(), nullable=True),
        sa.Column("accounted_at", sa.DateTime(), nullable=True),
        sa.Column("accounted_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "getting_back IN ('shuttle', 'own', 'with_staff', 'not_yet')",
            name=op.f("ck_drop_outs_getting_back"),
        ),
        sa.ForeignKeyConstraint(
            ["accounted_by_id"], ["users.id"],
            name=op.f("fk_drop_outs_accounted_by_id_users"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["checkpoint_id"], ["checkpoints.id"],
            name=op.f("fk_drop_outs_checkpoint_id_checkpoints"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["entries.id"],
            name=op.f("fk_drop_outs_entry_id_entries"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"],
            name=op.f("fk_drop_outs_event_id_events"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_drop_outs_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drop_outs")),
        sa.UniqueConstraint("client_key", name=op.f("uq_drop_outs_client_key")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_drop_outs_entry_id")),
    )
    op.create_index(op.f("ix_drop_outs_event_id"), "drop_outs", ["event_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_drop_outs_event_id"), table_name="drop_outs")
    op.drop_table("drop_outs")
