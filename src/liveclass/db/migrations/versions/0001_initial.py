"""initial

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-23 11:17:57.459352
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import liveclass.db.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", liveclass.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", "user_id"),
    )
    op.create_table(
        "live_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=True),
        sa.Column("course_id", sa.String(length=128), nullable=True),
        sa.Column("booking_id", sa.String(length=128), nullable=True),
        sa.Column("session_type", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("scheduled_at", liveclass.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("max_participants", sa.Integer(), nullable=False),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("is_recorded", sa.Boolean(), nullable=False),
        sa.Column("waiting_room", sa.Boolean(), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=True),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("default_role", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.String(length=128), nullable=False),
        sa.Column("owner_name", sa.String(length=200), nullable=False),
        sa.Column("invite_version", sa.Integer(), nullable=False),
        sa.Column("media_server", sa.String(length=512), nullable=True),
        sa.Column("media_room", sa.JSON(), nullable=True),
        sa.Column("started_at", liveclass.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", liveclass.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.Column("peak_participants", sa.Integer(), nullable=False),
        sa.Column("created_at", liveclass.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", liveclass.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("booking_id"),
    )
    with op.batch_alter_table("live_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_live_sessions_course_id"), ["course_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_live_sessions_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_live_sessions_scheduled_at"), ["scheduled_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_live_sessions_status"), ["status"], unique=False)

    op.create_table(
        "outbox_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", liveclass.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", liveclass.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", liveclass.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbox_events_session_id"), ["session_id"], unique=False
        )

    op.create_table(
        "participants",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("token_version", sa.Integer(), nullable=False),
        sa.Column("first_joined_at", liveclass.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_joined_at", liveclass.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("left_at", liveclass.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("kicked_at", liveclass.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", liveclass.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["live_sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("session_id", "user_id"),
    )
    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_participants_session_id"), ["session_id"], unique=False
        )

    op.create_table(
        "attendance_intervals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("participant_id", sa.Uuid(), nullable=False),
        sa.Column("connection_id", sa.String(length=64), nullable=False),
        sa.Column("started_at", liveclass.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", liveclass.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["participant_id"], ["participants.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["session_id"], ["live_sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("attendance_intervals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_attendance_intervals_session_id"), ["session_id"], unique=False
        )
        batch_op.create_index("ix_attendance_open", ["participant_id", "ended_at"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("attendance_intervals", schema=None) as batch_op:
        batch_op.drop_index("ix_attendance_open")
        batch_op.drop_index(batch_op.f("ix_attendance_intervals_session_id"))

    op.drop_table("attendance_intervals")
    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_participants_session_id"))

    op.drop_table("participants")
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_events_session_id"))

    op.drop_table("outbox_events")
    with op.batch_alter_table("live_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_live_sessions_status"))
        batch_op.drop_index(batch_op.f("ix_live_sessions_scheduled_at"))
        batch_op.drop_index(batch_op.f("ix_live_sessions_owner_id"))
        batch_op.drop_index(batch_op.f("ix_live_sessions_course_id"))

    op.drop_table("live_sessions")
    op.drop_table("idempotency_keys")
