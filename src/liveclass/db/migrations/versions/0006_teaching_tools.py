"""teaching tools: polls and quizzes, raised hands, classroom locks and timer

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-01

Anonymous polls keep no voter: poll_ballots holds an opaque HMAC key per voter (one vote
each), poll_counts the votes per option; poll_answers holds named answers only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import liveclass.db.types

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def _utc(name: str, *, nullable: bool) -> sa.Column[object]:
    return sa.Column(name, liveclass.db.types.UTCDateTime(timezone=True), nullable=nullable)


def _poll_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["poll_id"], ["polls.id"], ondelete="CASCADE")


def _session_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["session_id"], ["live_sessions.id"], ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "polls",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("question", sa.String(length=300), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("multiple", sa.Boolean(), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("quiz", sa.Boolean(), nullable=False),
        sa.Column("correct", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("results_visible", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        _utc("created_at", nullable=False),
        _utc("opened_at", nullable=True),
        _utc("closed_at", nullable=True),
        _session_fk(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_polls_session_id", "polls", ["session_id"])
    op.create_table(
        "poll_answers",
        sa.Column("poll_id", sa.Uuid(), nullable=False),
        sa.Column("participant_id", sa.Uuid(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("correct", sa.Boolean(), nullable=True),
        _utc("answered_at", nullable=False),
        _poll_fk(),
        sa.ForeignKeyConstraint(["participant_id"], ["participants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("poll_id", "participant_id"),
    )
    op.create_index("ix_poll_answers_participant_id", "poll_answers", ["participant_id"])
    op.create_table(
        "poll_ballots",
        sa.Column("poll_id", sa.Uuid(), nullable=False),
        sa.Column("voter_key", sa.String(length=64), nullable=False),
        _poll_fk(),
        sa.PrimaryKeyConstraint("poll_id", "voter_key"),
    )
    op.create_table(
        "poll_counts",
        sa.Column("poll_id", sa.Uuid(), nullable=False),
        sa.Column("option_id", sa.String(length=8), nullable=False),
        sa.Column("votes", sa.Integer(), nullable=False),
        _poll_fk(),
        sa.PrimaryKeyConstraint("poll_id", "option_id"),
    )
    op.create_table(
        "raised_hands",
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("participant_id", sa.Uuid(), nullable=False),
        _utc("raised_at", nullable=False),
        _session_fk(),
        sa.ForeignKeyConstraint(["participant_id"], ["participants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("session_id", "participant_id"),
    )
    op.create_table(
        "classroom_state",
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("locks", sa.JSON(), nullable=False),
        sa.Column("timer", sa.JSON(), nullable=False),
        _utc("updated_at", nullable=False),
        _session_fk(),
        sa.PrimaryKeyConstraint("session_id"),
    )


def downgrade() -> None:
    op.drop_table("classroom_state")
    op.drop_table("raised_hands")
    op.drop_table("poll_counts")
    op.drop_table("poll_ballots")
    op.drop_index("ix_poll_answers_participant_id", table_name="poll_answers")
    op.drop_table("poll_answers")
    op.drop_index("ix_polls_session_id", table_name="polls")
    op.drop_table("polls")
