"""participants by user

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

A listing shows a user the private sessions they hold a seat in
(``id IN (SELECT session_id FROM participants WHERE user_id = ...)``); without this index
that subquery reads the whole participants table.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_participants_user_id", "participants", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_participants_user_id", table_name="participants")
