"""seat counters on live_sessions

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23

Who is joined now (seated for the capacity, publishing for a mesh room's cap, everyone for
the peak), kept on the session row so a first join can check capacity and take its seat in
one statement. Filled here from the participants; kept since by every change of a seat.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The roles as of this revision (domain.roles): seated = all but host; publishing = host,
# co_host, speaker.
_SEATED = "'co_host', 'speaker', 'viewer'"
_PUBLISHING = "'host', 'co_host', 'speaker'"
_COUNTERS = ("seated_count", "publisher_count", "joined_count")


def upgrade() -> None:
    with op.batch_alter_table("live_sessions") as batch_op:
        for name in _COUNTERS:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
    joined = (
        "SELECT count(*) FROM participants WHERE participants.session_id = live_sessions.id "
        "AND participants.status = 'joined'"
    )
    op.execute(
        f"UPDATE live_sessions SET seated_count = ({joined} AND role IN ({_SEATED})), "
        f"publisher_count = ({joined} AND role IN ({_PUBLISHING})), "
        f"joined_count = ({joined})"
    )


def downgrade() -> None:
    with op.batch_alter_table("live_sessions") as batch_op:
        for name in _COUNTERS:
            batch_op.drop_column(name)
