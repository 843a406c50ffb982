"""recordings

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import liveclass.db.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _utc(name: str, *, nullable: bool) -> sa.Column[object]:
    return sa.Column(name, liveclass.db.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "recordings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.String(length=128), nullable=True),
        sa.Column("owner_id", sa.String(length=128), nullable=False),
        sa.Column("backend", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("storage_key", sa.String(length=512), nullable=True),
        sa.Column("feed_keys", sa.JSON(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("started_by", sa.String(length=128), nullable=True),
        _utc("started_at", nullable=False),
        _utc("stopped_at", nullable=True),
        _utc("ready_at", nullable=True),
        _utc("deleted_at", nullable=True),
        _utc("created_at", nullable=False),
        _utc("updated_at", nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["live_sessions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_recordings_session_id", "recordings", ["session_id"])
    op.create_index("ix_recordings_course_id", "recordings", ["course_id"])
    op.create_index("ix_recordings_owner_id", "recordings", ["owner_id"])
    op.create_index("ix_recordings_session_state", "recordings", ["session_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_recordings_session_state", table_name="recordings")
    op.drop_index("ix_recordings_owner_id", table_name="recordings")
    op.drop_index("ix_recordings_course_id", table_name="recordings")
    op.drop_index("ix_recordings_session_id", table_name="recordings")
    op.drop_table("recordings")
