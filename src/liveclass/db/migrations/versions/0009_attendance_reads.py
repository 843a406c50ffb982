"""attendance reads of hosted meetings, and room for longer provider ids

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-15

``hosted_meetings.attendance_due_at`` / ``attendance_reads``: when a provider's own
attendance records (Meet's conference records, Teams' attendance reports) are next read
after the class ended, and how many reads succeeded. Graph's online meeting ids (about 150
characters) and Meet's participant session names outgrow 128 characters: the meeting id
and the provider event's id and room take 512. Teams' notifications find a meeting by its
join link: ``url`` is indexed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from liveclass.db.types import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hosted_meetings") as batch_op:
        batch_op.alter_column(
            "meeting_id", existing_type=sa.String(length=128), type_=sa.String(length=512)
        )
        batch_op.add_column(sa.Column("attendance_due_at", UTCDateTime(timezone=True)))
        batch_op.add_column(
            sa.Column("attendance_reads", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.create_index("ix_hosted_meetings_attendance_due_at", ["attendance_due_at"])
        batch_op.create_index("ix_hosted_meetings_url", ["url"])
    with op.batch_alter_table("provider_events") as batch_op:
        batch_op.alter_column(
            "event_id", existing_type=sa.String(length=128), type_=sa.String(length=512)
        )
        batch_op.alter_column(
            "room", existing_type=sa.String(length=128), type_=sa.String(length=512)
        )


def downgrade() -> None:
    with op.batch_alter_table("provider_events") as batch_op:
        batch_op.alter_column(
            "room", existing_type=sa.String(length=512), type_=sa.String(length=128)
        )
        batch_op.alter_column(
            "event_id", existing_type=sa.String(length=512), type_=sa.String(length=128)
        )
    with op.batch_alter_table("hosted_meetings") as batch_op:
        batch_op.drop_index("ix_hosted_meetings_url")
        batch_op.drop_index("ix_hosted_meetings_attendance_due_at")
        batch_op.drop_column("attendance_reads")
        batch_op.drop_column("attendance_due_at")
        batch_op.alter_column(
            "meeting_id", existing_type=sa.String(length=512), type_=sa.String(length=128)
        )
