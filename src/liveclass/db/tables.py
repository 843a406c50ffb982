"""The tables, as SQLAlchemy Core ``Table``s on one ``metadata`` (the migrations compare
against it). Enum-valued columns hold the ``StrEnum`` values of ``liveclass.domain``.

No column has a client-side default: every INSERT gives every column (the records of
``liveclass.db`` carry them all), and every UPDATE of a table with ``updated_at`` sets it,
the same on SQLite's Core connection and on PostgreSQL's bare asyncpg one."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)

from liveclass.db.types import UTCDateTime

metadata = MetaData()


SESSIONS = Table(
    "live_sessions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("title", String(200), nullable=False),
    Column("description", String(1000)),
    Column("course_id", String(128), index=True),
    Column("booking_id", String(128), unique=True),
    Column("session_type", String(16), nullable=False),
    Column("status", String(16), index=True, nullable=False),
    Column("scheduled_at", UTCDateTime, index=True, nullable=False),
    Column("duration_minutes", Integer, nullable=False),
    Column("max_participants", Integer, nullable=False),
    Column("is_public", Boolean, nullable=False),
    Column("is_recorded", Boolean, nullable=False),
    Column("waiting_room", Boolean, nullable=False),
    Column("password_hash", String(256)),
    Column("provider", String(32), nullable=False),
    Column("default_role", String(16), nullable=False),
    Column("owner_id", String(128), index=True, nullable=False),
    Column("owner_name", String(200), nullable=False),
    Column("invite_version", Integer, nullable=False),
    # Where the media room lives (e.g. the Janus server chosen for it) and its backend state.
    Column("media_server", String(512)),
    Column("media_room", JSON),
    Column("started_at", UTCDateTime),
    Column("ended_at", UTCDateTime),
    Column("end_reason", String(32)),
    Column("peak_participants", Integer, nullable=False),
    # Who is joined now, kept with every change of a seat (the seats unit, db/seats.py): a first
    # join checks capacity against these in the same statement that takes the seat.
    Column("seated_count", Integer, server_default="0", nullable=False),
    Column("publisher_count", Integer, server_default="0", nullable=False),
    Column("joined_count", Integer, server_default="0", nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

PARTICIPANTS = Table(
    "participants",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column(
        "session_id", ForeignKey("live_sessions.id", ondelete="CASCADE"), index=True, nullable=False
    ),
    # indexed for "the sessions this user has a seat in" (a listing's visibility check)
    Column("user_id", String(128), index=True, nullable=False),
    Column("name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    # Bumped on kick and deny: access tokens carry it, older ones stop working. A role
    # change needs no bump: the realtime channel reads the role from this row, not the token.
    Column("token_version", Integer, nullable=False),
    Column("first_joined_at", UTCDateTime, nullable=False),
    Column("last_joined_at", UTCDateTime, nullable=False),
    Column("left_at", UTCDateTime),
    Column("kicked_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("session_id", "user_id"),
)

# One span a participant was connected to the classroom (opened on connect).
ATTENDANCE_INTERVALS = Table(
    "attendance_intervals",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column(
        "session_id", ForeignKey("live_sessions.id", ondelete="CASCADE"), index=True, nullable=False
    ),
    Column("participant_id", ForeignKey("participants.id", ondelete="CASCADE"), nullable=False),
    Column("connection_id", String(64), nullable=False),
    # The node holding the socket: when it dies, another node closes what it left open.
    Column("node_id", String(128), server_default="", nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),
    Index("ix_attendance_open", "participant_id", "ended_at"),
    Index("ix_attendance_node_open", "node_id", "ended_at"),
)

# One liveclass node and its heartbeat: a node that stops beating is dead.
NODES = Table(
    "nodes",
    metadata,
    Column("node_id", String(128), primary_key=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    # Set by the node that found it dead and closed its attendance (at ``last_seen_at``).
    Column("dead_at", UTCDateTime),
)

IDEMPOTENCY_KEYS = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("user_id", String(128), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# Events for the platform, written in the same transaction as the change they describe.
OUTBOX_EVENTS = Table(
    "outbox_events",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("event_type", String(64), nullable=False),
    Column("session_id", Uuid, index=True),
    Column("payload", JSON, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
)

# One recording of a session: its state, where its files are stored, and why it failed.
RECORDINGS = Table(
    "recordings",
    metadata,
    Column("id", Uuid, primary_key=True),
    # No cascade: a recording outlives its session row until retention removes both files
    # and row; the denormalised course/owner keep list filters cheap.
    Column("session_id", ForeignKey("live_sessions.id"), index=True, nullable=False),
    Column("course_id", String(128), index=True),
    Column("owner_id", String(128), index=True, nullable=False),
    Column("backend", String(32), nullable=False),
    Column("state", String(16), nullable=False),
    Column("format", String(16), nullable=False),
    Column("storage_key", String(512)),
    # Keys of the per-feed files kept beside the class file.
    Column("feed_keys", JSON, nullable=False),
    Column("size_bytes", Integer),
    Column("duration_ms", Integer),
    Column("failure_reason", Text),
    Column("started_by", String(128)),
    Column("started_at", UTCDateTime, nullable=False),
    Column("stopped_at", UTCDateTime),
    Column("ready_at", UTCDateTime),
    Column("deleted_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_recordings_session_state", "session_id", "state"),
)

# A poll or quiz of a session; ``options`` are ``[{id, text}]``, ``correct`` option ids.
POLLS = Table(
    "polls",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column(
        "session_id", ForeignKey("live_sessions.id", ondelete="CASCADE"), index=True, nullable=False
    ),
    Column("question", String(300), nullable=False),
    Column("options", JSON, nullable=False),
    Column("multiple", Boolean, nullable=False),
    Column("anonymous", Boolean, nullable=False),
    Column("quiz", Boolean, nullable=False),
    Column("correct", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("results_visible", Boolean, nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("opened_at", UTCDateTime),
    Column("closed_at", UTCDateTime),
)

# One person's answer to a named (not anonymous) poll; re-answering replaces it.
POLL_ANSWERS = Table(
    "poll_answers",
    metadata,
    Column("poll_id", ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "participant_id",
        ForeignKey("participants.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
    Column("options", JSON, nullable=False),
    Column("correct", Boolean),  # quizzes only
    Column("answered_at", UTCDateTime, nullable=False),
)

# That someone voted in an anonymous poll, by an opaque key (domain.polls.voter_key):
# no participant, no choice, no time.
POLL_BALLOTS = Table(
    "poll_ballots",
    metadata,
    Column("poll_id", ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True),
    Column("voter_key", String(64), primary_key=True),
)

# The votes for one option of an anonymous poll (named polls count their answers).
POLL_COUNTS = Table(
    "poll_counts",
    metadata,
    Column("poll_id", ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True),
    Column("option_id", String(8), primary_key=True),
    Column("votes", Integer, nullable=False),
)

# A raised hand; the queue is the session's rows in ``raised_at`` order.
RAISED_HANDS = Table(
    "raised_hands",
    metadata,
    Column("session_id", ForeignKey("live_sessions.id", ondelete="CASCADE"), primary_key=True),
    Column("participant_id", ForeignKey("participants.id", ondelete="CASCADE"), primary_key=True),
    Column("raised_at", UTCDateTime, nullable=False),
)

# What a moderator set in the classroom: lock settings and the timer (domain.locks,
# domain.timer, as their stored dicts).
CLASSROOM_STATE = Table(
    "classroom_state",
    metadata,
    Column("session_id", ForeignKey("live_sessions.id", ondelete="CASCADE"), primary_key=True),
    Column("locks", JSON, nullable=False),
    Column("timer", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Events a video provider sent (its webhooks), one row each: a redelivery is found here.
PROVIDER_EVENTS = Table(
    "provider_events",
    metadata,
    Column("provider", String(32), nullable=False),
    # long enough for a resource path (Meet's participant sessions) or Graph's meeting ids
    Column("event_id", String(512), nullable=False),
    # what it was (``participant_joined``, ``room_finished``, ...) and the provider's room
    Column("event", String(64), nullable=False),
    Column("room", String(512), nullable=False),
    Column("received_at", UTCDateTime, nullable=False, index=True),
    PrimaryKeyConstraint("provider", "event_id", name="pk_provider_events"),
)

# A hosted provider's meeting of a session (Daily's room, Zoom's meeting): its webhooks name
# the meeting, this finds the session. ``downloads`` holds the recordings the provider
# reported ready and liveclass has yet to fetch (``pending`` of them), by recording id.
# ``attendance_due_at``: when the provider's own attendance records (Meet's conference
# records, Teams' reports) are next to be read, from the class's end on; None: no read due.
HOSTED_MEETINGS = Table(
    "hosted_meetings",
    metadata,
    Column("provider", String(32), nullable=False),
    Column("meeting_id", String(512), nullable=False),
    Column("session_id", ForeignKey("live_sessions.id"), nullable=False, unique=True),
    # Teams' notifications name the meeting by its join link
    Column("url", String(1024), nullable=False, index=True),
    Column("downloads", JSON, nullable=False),
    Column("pending", Integer, nullable=False, index=True),
    Column("recording_url", String(1024)),
    # a provider's transcript of the class, where it keeps it (Meet's Google Doc)
    Column("transcript_url", String(2048)),
    Column("attendance_due_at", UTCDateTime, index=True),
    Column("attendance_reads", Integer, nullable=False, server_default="0"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("provider", "meeting_id", name="pk_hosted_meetings"),
)
