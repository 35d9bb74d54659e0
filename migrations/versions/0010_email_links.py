"""e-mail: links (sign-up, password reset, new address), verified addresses, alerts by e-mail,
reminders, and entries that outlive a deleted account

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 13:00:00
"""

import sqlalchemy as sa
from alembic import op


revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email_verified_at", sa.DateTime(), nullable=True))
        batch.add_column(
            sa.Column("email_alerts", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "email_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=120), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("language", sa.String(length=12), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "purpose IN ('sign-up', 'password-reset', 'email-change')", name=op.f("ck_email_links_purpose")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_email_links_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_links")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_email_links_token_sha256")),
    )
    op.create_index(op.f("ix_email_links_user_id"), "email_links", ["user_id"], unique=False)
    # A deleted account's entries stay for the organizer, without a runner.
    with op.batch_alter_table("entries") as batch:
        batch.alter_column("user_id", existing_type=sa.Integer(), nullable=True)
        batch.drop_constraint("fk_entries_user_id_users", type_="foreignkey")
        batch.create_foreign_key(
            "fk_entries_user_id_users", "users", ["user_id"], ["id"], ondelete="SET NULL"
        )
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(
            sa.Column("email_count", sa.Integer(), server_default="0", nullable=False)
        )
    op.create_table(
        "mail_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("claimed_by", sa.String(length=80), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed', 'gone')",
            name=op.f("ck_mail_deliveries_status"),
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_mail_deliveries_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_mail_deliveries_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_deliveries")),
        sa.UniqueConstraint(
            "alert_id", "user_id", name=op.f("uq_mail_deliveries_alert_id_user_id")
        ),
    )
    op.create_index(
        op.f("ix_mail_deliveries_alert_id"), "mail_deliveries", ["alert_id"], unique=False
    )
    op.create_index(
        op.f("ix_mail_deliveries_user_id"), "mail_deliveries", ["user_id"], unique=False
    )
    op.create_index(
        "ix_mail_deliveries_due",
        "mail_deliveries",
        ["next_attempt_at"],
        unique=False,
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )


    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("claimed_by", sa.String(length=80), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.CheckConstraint("kind IN ('eve', 'bus')", name=op.f("ck_reminders_kind")),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'cancelled', 'failed')",
            name=op.f("ck_reminders_status"),
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_reminders_booking_id_bookings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["entries.id"],
            name=op.f("fk_reminders_entry_id_entries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_reminders_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_reminders_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_reminders_entry_id")),
        sa.UniqueConstraint("booking_id", name=op.f("uq_reminders_booking_id")),
    )
    op.create_index(op.f("ix_reminders_user_id"), "reminders", ["user_id"], unique=False)
    op.create_index(op.f("ix_reminders_event_id"), "reminders", ["event_id"], unique=False)
    op.create_index(
        "ix_reminders_due",
        "reminders",
        ["due_at"],
        unique=False,
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade():
    op.drop_table("reminders")
    op.drop_table("mail_deliveries")
    with op.batch_alter_table("entries") as batch:
        batch.drop_constraint("fk_entries_user_id_users", type_="foreignkey")
        batch.create_foreign_key(
            "fk_entries_user_id_users", "users", ["user_id"], ["id"], ondelete="CASCADE"
        )
        batch.alter_column("user_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("email_count")
    op.drop_index(op.f("ix_email_links_user_id"), table_name="email_links")
    op.drop_table("email_links")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email_alerts")
        batch.drop_column("email_verified_at")
