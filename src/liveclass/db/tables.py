"""Tables. Enum-valued columns hold the ``StrEnum`` values of ``liveclass.domain``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from liveclass.db.types import UTCDateTime, utcnow


class Base(DeclarativeBase):
    pass


# Every table's metadata (the migrations compare against it): a module defining a table of
# its own (``Table(name, metadata, ...)``) puts it here.
metadata = Base.metadata


class LiveSessionRow(Base):
    __tablename__ = "live_sessions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(1000))
    course_id: Mapped[str | None] = mapped_column(String(128), index=True)
    booking_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    session_type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    max_participants: Mapped[int] = mapped_column(Integer)
    is_public: Mapped[bool] = mapped_column(Boolean)
    is_recorded: Mapped[bool] = mapped_column(Boolean)
    waiting_room: Mapped[bool] = mapped_column(Boolean)
    password_hash: Mapped[str | None] = mapped_column(String(256))
    provider: Mapped[str] = mapped_column(String(32))
    default_role: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[str] = mapped_column(String(128), index=True)
    owner_name: Mapped[str] = mapped_column(String(200))
    invite_version: Mapped[int] = mapped_column(Integer, default=1)
    # Where the media room lives (e.g. the Janus server chosen for it) and its backend state.
    media_server: Mapped[str | None] = mapped_column(String(512))
    media_room: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(32))
    peak_participants: Mapped[int] = mapped_column(Integer, default=0)
    # Who is joined now, kept with every change of a seat (db.participants.recount): a first
    # join checks capacity against these in the same statement that takes the seat.
    seated_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    publisher_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    joined_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ParticipantRow(Base):
    __tablename__ = "participants"
    __table_args__ = (UniqueConstraint("session_id", "user_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("live_sessions.id", ondelete="CASCADE"), index=True
    )
    # indexed for "the sessions this user has a seat in" (a listing's visibility check)
    user_id: Mapped[str] = mapped_column(String(128), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    # Bumped on kick and deny: access tokens carry it, older ones stop working. A role
    # change needs no bump: the realtime channel reads the role from this row, not the token.
    token_version: Mapped[int] = mapped_column(Integer, default=1)
    first_joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    kicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AttendanceIntervalRow(Base):
    """One span a participant was connected to the classroom (opened on connect)."""

    __tablename__ = "attendance_intervals"
    __table_args__ = (
        Index("ix_attendance_open", "participant_id", "ended_at"),
        Index("ix_attendance_node_open", "node_id", "ended_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("live_sessions.id", ondelete="CASCADE"), index=True
    )
    participant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE")
    )
    connection_id: Mapped[str] = mapped_column(String(64))
    # The node holding the socket: when it dies, another node closes what it left open.
    node_id: Mapped[str] = mapped_column(String(128), server_default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NodeRow(Base):
    """One liveclass node and its heartbeat: a node that stops beating is dead."""

    __tablename__ = "nodes"

    node_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set by the node that found it dead and closed its attendance (at ``last_seen_at``).
    dead_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IdempotencyKeyRow(Base):
    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxEventRow(Base):
    """Events for the platform, written in the same transaction as the change they describe."""

    __tablename__ = "outbox_events"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    event_type: Mapped[str] = mapped_column(String(64))
    session_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecordingRow(Base):
    """One recording of a session: its state, where its files are stored, and why it failed."""

    __tablename__ = "recordings"
    __table_args__ = (Index("ix_recordings_session_state", "session_id", "state"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    # No cascade: a recording outlives its session row until retention removes both files
    # and row; the denormalised course/owner keep list filters cheap.
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("live_sessions.id"), index=True)
    course_id: Mapped[str | None] = mapped_column(String(128), index=True)
    owner_id: Mapped[str] = mapped_column(String(128), index=True)
    backend: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    format: Mapped[str] = mapped_column(String(16), default="webm")
    storage_key: Mapped[str | None] = mapped_column(String(512))
    # Keys of the per-feed files kept beside the class file.
    feed_keys: Mapped[list[str]] = mapped_column(JSON, default=list)
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    started_by: Mapped[str | None] = mapped_column(String(128))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


# -- teaching tools (polls, hands, locks, timer) ----------------------------------------------


class PollRow(Base):
    """A poll or quiz of a session; ``options`` are ``[{id, text}]``, ``correct`` option ids."""

    __tablename__ = "polls"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("live_sessions.id", ondelete="CASCADE"), index=True
    )
    question: Mapped[str] = mapped_column(String(300))
    options: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    multiple: Mapped[bool] = mapped_column(Boolean)
    anonymous: Mapped[bool] = mapped_column(Boolean)
    quiz: Mapped[bool] = mapped_column(Boolean)
    correct: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    results_visible: Mapped[bool] = mapped_column(Boolean)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PollAnswerRow(Base):
    """One person's answer to a named (not anonymous) poll; re-answering replaces it."""

    __tablename__ = "poll_answers"

    poll_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True
    )
    participant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    options: Mapped[list[str]] = mapped_column(JSON)
    correct: Mapped[bool | None] = mapped_column(Boolean)  # quizzes only
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PollBallotRow(Base):
    """That someone voted in an anonymous poll, by an opaque key (domain.polls.voter_key):
    no participant, no choice, no time."""

    __tablename__ = "poll_ballots"

    poll_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True
    )
    voter_key: Mapped[str] = mapped_column(String(64), primary_key=True)


class PollCountRow(Base):
    """The votes for one option of an anonymous poll (named polls count their answers)."""

    __tablename__ = "poll_counts"

    poll_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True
    )
    option_id: Mapped[str] = mapped_column(String(8), primary_key=True)
    votes: Mapped[int] = mapped_column(Integer, default=0)


class RaisedHandRow(Base):
    """A raised hand; the queue is the session's rows in ``raised_at`` order."""

    __tablename__ = "raised_hands"

    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("live_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    participant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), primary_key=True
    )
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ClassroomStateRow(Base):
    """What a moderator set in the classroom: lock settings and the timer (domain.locks,
    domain.timer, as their stored dicts)."""

    __tablename__ = "classroom_state"

    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("live_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    locks: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    timer: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
