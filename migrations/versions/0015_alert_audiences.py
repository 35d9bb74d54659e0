"""alert audiences narrower than a category: a departure's passengers, runners on course or not
yet started, those who have not read an earlier alert; who each went to

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-28 18:15:00
"""

import sqlalchemy as sa
from alembic import op


revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("alerts", sa.Column("audience_kind", sa.String(length=20), nullable=True))
    op.add_column("alerts", sa.Column("audience_ref", sa.Integer(), nullable=True))
    op.create_table(
        "alert_recipients",
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_alert_recipients_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_alert_recipients_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("alert_id", "user_id", name=op.f("pk_alert_recipients")),
    )
    op.create_index(
        op.f("ix_alert_recipients_user_id"), "alert_recipients", ["user_id"], unique=False
    )


def downgrade():
    op.drop_index(op.f("ix_alert_recipients_user_id"), table_name="alert_recipients")
    op.drop_table("alert_recipients")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("audience_ref")
        batch.drop_column("audience_kind")
