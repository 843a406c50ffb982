"""hosted_meetings: a hosted provider's meeting of a session, and its pending downloads

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import liveclass.db.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hosted_meetings",
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("meeting_id", sa.String(length=128), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.String(length=1024), nullable=False),
        sa.Column("downloads", sa.JSON(), nullable=False),
        sa.Column("pending", sa.Integer(), nullable=False),
        sa.Column("recording_url", sa.String(length=1024), nullable=True),
        sa.Column("created_at", liveclass.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", liveclass.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["live_sessions.id"]),
        sa.PrimaryKeyConstraint("provider", "meeting_id", name="pk_hosted_meetings"),
        sa.UniqueConstraint("session_id"),
    )
    op.create_index(
        op.f("ix_hosted_meetings_pending"), "hosted_meetings", ["pending"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_hosted_meetings_pending"), table_name="hosted_meetings")
    op.drop_table("hosted_meetings")
