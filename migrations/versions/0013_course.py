"""the course: GPX tracks per category, leg climbs and aid-station positions on checkpoints

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28 17:00:00
"""

import sqlalchemy as sa
from alembic import op


revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("checkpoints") as batch:
        batch.add_column(sa.Column("gain_m", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("loss_m", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("latitude", sa.Float(), nullable=True))
        batch.add_column(sa.Column("longitude", sa.Float(), nullable=True))
    op.create_table(
        "course_tracks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("source_name", sa.String(length=200), nullable=False),
        sa.Column("source_sha256", sa.String(length=64), nullable=False),
        sa.Column("illustrative", sa.Boolean(), nullable=False),
        sa.Column("distance_km", sa.Float(), nullable=False),
        sa.Column("gain_m", sa.Integer(), nullable=False),
        sa.Column("loss_m", sa.Integer(), nullable=False),
        sa.Column("points", sa.JSON(), nullable=False),
        sa.Column("tolerance_m", sa.Float(), nullable=False),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
            name=op.f("fk_course_tracks_category_id_categories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_tracks")),
        sa.UniqueConstraint("category_id", name=op.f("uq_course_tracks_category_id")),
    )


def downgrade():
    op.drop_table("course_tracks")
    with op.batch_alter_table("checkpoints") as batch:
        batch.drop_column("longitude")
        batch.drop_column("latitude")
        batch.drop_column("loss_m")
        batch.drop_column("gain_m")
