"""a hosted meeting's transcript link

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-16

``hosted_meetings.transcript_url``: where the provider keeps the class's transcript (Meet
writes it as a Google Doc in the organizer's Drive), found on its records after the class
or pushed when the file is written; shown as the session's ``transcript_url``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hosted_meetings") as batch_op:
        batch_op.add_column(sa.Column("transcript_url", sa.String(length=2048)))


def downgrade() -> None:
    with op.batch_alter_table("hosted_meetings") as batch_op:
        batch_op.drop_column("transcript_url")
