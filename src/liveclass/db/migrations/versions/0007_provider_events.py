"""provider_events: the webhooks video providers sent, for de-duplication

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import liveclass.db.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provider_events",
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("room", sa.String(length=128), nullable=False),
        sa.Column("received_at", liveclass.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("provider", "event_id", name="pk_provider_events"),
    )
    op.create_index(
        op.f("ix_provider_events_received_at"), "provider_events", ["received_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_provider_events_received_at"), table_name="provider_events")
    op.drop_table("provider_events")
