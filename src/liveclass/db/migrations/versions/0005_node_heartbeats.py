"""node heartbeats, and the node of each attendance interval

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

Every node writes ``nodes.last_seen_at`` every few seconds; a node that stops is dead, and
another node closes the attendance intervals it left open at the moment it was last seen.
Existing intervals get their node from their connection id (``<node id>/<socket>``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from liveclass.db.types import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nodes",
        sa.Column("node_id", sa.String(length=128), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("dead_at", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("node_id"),
    )
    with op.batch_alter_table("attendance_intervals") as batch_op:
        batch_op.add_column(
            sa.Column("node_id", sa.String(length=128), nullable=False, server_default="")
        )
        batch_op.create_index("ix_attendance_node_open", ["node_id", "ended_at"])
    before_slash = (
        "split_part(connection_id, '/', 1)"
        if op.get_bind().dialect.name == "postgresql"
        else "substr(connection_id, 1, instr(connection_id, '/') - 1)"
    )
    op.execute(
        f"UPDATE attendance_intervals SET node_id = {before_slash} WHERE connection_id LIKE '%/%'"
    )


def downgrade() -> None:
    with op.batch_alter_table("attendance_intervals") as batch_op:
        batch_op.drop_index("ix_attendance_node_open")
        batch_op.drop_column("node_id")
    op.drop_table("nodes")
