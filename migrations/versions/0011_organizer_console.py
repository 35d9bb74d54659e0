"""organizer console: entry lists with claim codes, team roles and invitations, race file
versions, the audit log

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 14:00:00
"""

import sqlalchemy as sa
from alembic import op


revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

ROLES = "role IN ('headquarters', 'shuttle_staff', 'read_only')"


def upgrade():
    with op.batch_alter_table("entries") as batch:
        batch.alter_column("bib", existing_type=sa.String(length=12), nullable=True)
        batch.add_column(sa.Column("name", sa.String(length=120), nullable=True))
        batch.add_column(sa.Column("email", sa.String(length=254), nullable=True))
        batch.add_column(sa.Column("phone", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("emergency_contact", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("claim_code_sha256", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("claim_nonce", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("claimed_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("withdrawn_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("kit_synced_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("updated_at", sa.DateTime(), nullable=True))
        batch.create_unique_constraint(
            op.f("uq_entries_claim_code_sha256"), ["claim_code_sha256"]
        )
        batch.create_index(op.f("ix_entries_email"), ["email"], unique=False)
    # Entries made before lists existed were the runners' own: they count as claimed.
    op.execute("UPDATE entries SET claimed_at = created_at WHERE user_id IS NOT NULL")
    with op.batch_alter_table("organizer_roles") as batch:
        batch.add_column(
            sa.Column(
                "role", sa.String(length=20), server_default="headquarters", nullable=False
            )
        )
        batch.create_check_constraint(op.f("ck_organizer_roles_role"), ROLES)
    op.create_table(
        "team_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("invited_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("accepted_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(ROLES, name=op.f("ck_team_invitations_role")),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"],
            name=op.f("fk_team_invitations_event_id_events"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invited_by_id"], ["users.id"],
            name=op.f("fk_team_invitations_invited_by_id_users"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_invitations")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_team_invitations_token_sha256")),
    )
    op.create_index(
        op.f("ix_team_invitations_event_id"), "team_invitations", ["event_id"], unique=False
    )
    op.create_table(
        "race_file_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("source_name", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.Column("published_at", sa.DateTime(), nullable=False),
        sa.Column("restored_from", sa.Integer(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"],
            name=op.f("fk_race_file_versions_event_id_events"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["published_by_id"], ["users.id"],
            name=op.f("fk_race_file_versions_published_by_id_users"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_race_file_versions")),
        sa.UniqueConstraint(
            "event_id", "number", name=op.f("uq_race_file_versions_event_id_number")
        ),
    )
    op.create_index(
        op.f("ix_race_file_versions_event_id"), "race_file_versions", ["event_id"], unique=False
    )
    op.create_table(
        "pending_uploads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"],
            name=op.f("fk_pending_uploads_event_id_events"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"],
            name=op.f("fk_pending_uploads_user_id_users"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_uploads")),
    )
    op.create_index(
        op.f("ix_pending_uploads_event_id"), "pending_uploads", ["event_id"], unique=False
    )
    op.create_index(
        op.f("ix_pending_uploads_user_id"), "pending_uploads", ["user_id"], unique=False
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"],
            name=op.f("fk_audit_log_event_id_events"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_audit_log_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_event_at", "audit_log", ["event_id", "at"], unique=False)


def downgrade():
    op.drop_index("ix_audit_log_event_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index(op.f("ix_pending_uploads_user_id"), table_name="pending_uploads")
    op.drop_index(op.f("ix_pending_uploads_event_id"), table_name="pending_uploads")
    op.drop_table("pending_uploads")
    op.drop_index(op.f("ix_race_file_versions_event_id"), table_name="race_file_versions")
    op.drop_table("race_file_versions")
    op.drop_index(op.f("ix_team_invitations_event_id"), table_name="team_invitations")
    op.drop_table("team_invitations")
    with op.batch_alter_table("organizer_roles") as batch:
        batch.drop_constraint(op.f("ck_organizer_roles_role"), type_="check")
        batch.drop_column("role")
    op.execute("DELETE FROM entries WHERE bib IS NULL")
    with op.batch_alter_table("entries") as batch:
        batch.drop_index(op.f("ix_entries_email"))
        batch.drop_constraint(op.f("uq_entries_claim_code_sha256"), type_="unique")
        for column in (
            "updated_at", "kit_synced_at", "withdrawn_at", "claimed_at", "claim_nonce",
            "claim_code_sha256",
            "emergency_contact", "phone", "email", "name",
        ):
            batch.drop_column(column)
        batch.alter_column("bib", existing_type=sa.String(length=12), nullable=False)
