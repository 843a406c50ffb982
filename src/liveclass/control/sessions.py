"""Session use cases: create, update, cancel, start, end, expire, invite rotation."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from liveclass.auth.passwords import hash_password
from liveclass.control import polls
from liveclass.db import attendance, outbox
from liveclass.db import participants as participant_queries
from liveclass.db import sessions as session_queries
from liveclass.db.database import Transaction
from liveclass.db.sessions import SessionRecord
from liveclass.db.tables import LiveSessionRow
from liveclass.db.types import utcnow
from liveclass.domain.access import require_host
from liveclass.domain.actors import Actor
from liveclass.domain.errors import Conflict, DomainError, Invalid, NotFound
from liveclass.domain.lifecycle import (
    EndReason,
    SessionEnded,
    SessionStarted,
    SessionStatus,
    check_transition,
)
from liveclass.media.backend import MediaRoom, RoomSpec
from liveclass.services import Services

log = logging.getLogger(__name__)

# Clocks drift between the platform and us; a start time a minute ago is still "now".
SCHEDULE_GRACE = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class SessionDraft:
    title: str
    scheduled_at: datetime
    duration: int
    description: str | None = None
    course_id: str | None = None
    booking_id: str | None = None
    session_type: str = "lesson"
    max_participants: int = 100
    is_public: bool = True
    is_recorded: bool = False
    waiting_room: bool = False
    password: str | None = None
    provider: str | None = None
    default_role: str = "viewer"


def _check_schedule(at: datetime) -> None:
    if at < utcnow() - SCHEDULE_GRACE:
        raise Invalid("scheduled_at must not be in the past.", field="scheduled_at")


async def create_session(
    services: Services, actor: Actor, draft: SessionDraft
) -> tuple[LiveSessionRow, bool]:
    """Create a session; for a booking that already has one, return that one (created=False)."""
    provider = draft.provider or services.settings.default_provider
    services.backend(provider)  # refuse providers this server cannot run
    async with services.db.transaction() as tx:
        existing = await _booked(tx, actor, draft.booking_id)
        if existing is not None:
            return existing, False
        _check_schedule(draft.scheduled_at)
        row = LiveSessionRow(
            id=uuid.uuid4(),
            title=draft.title,
            description=draft.description,
            course_id=draft.course_id,
            booking_id=draft.booking_id,
            session_type=draft.session_type,
            status=SessionStatus.SCHEDULED.value,
            scheduled_at=draft.scheduled_at,
            duration_minutes=draft.duration,
            max_participants=draft.max_participants,
            is_public=draft.is_public,
            is_recorded=draft.is_recorded,
            waiting_room=draft.waiting_room,
            password_hash=hash_password(draft.password) if draft.password else None,
            provider=provider,
            default_role=draft.default_role,
            owner_id=actor.user_id,
            owner_name=actor.name,
            invite_version=1,
            peak_participants=0,
        )
        if not await session_queries.insert_session(tx, row):
            # Two creates for one booking raced and the other committed first.
            existing = await _booked(tx, actor, draft.booking_id)
            assert existing is not None
            return existing, False
        outbox.record_event(tx, "session.created", session_id=row.id, payload=_event(row))
    return row, True


async def _booked(tx: Transaction, actor: Actor, booking_id: str | None) -> LiveSessionRow | None:
    """The session already made for this booking, if the actor may have it returned."""
    if booking_id is None:
        return None
    existing = await session_queries.get_by_booking(tx, booking_id)
    if existing is not None and existing.owner_id != actor.user_id and not actor.is_admin:
        raise Conflict("Another host already has a session for this booking.", code="BOOKING_TAKEN")
    return existing


async def update_session(
    services: Services, actor: Actor, session_id: uuid.UUID, changes: dict[str, Any]
) -> LiveSessionRow:
    async with services.db.transaction() as tx:
        row = await _load(tx, session_id, for_update=True)
        require_host(actor, row)
        if row.status in (SessionStatus.ENDED, SessionStatus.CANCELLED):
            raise Conflict(f"A {row.status} session cannot be changed.", code="INVALID_STATE")
        if "scheduled_at" in changes and changes["scheduled_at"] != row.scheduled_at:
            _check_schedule(changes["scheduled_at"])
        if "provider" in changes:
            if row.status == SessionStatus.LIVE and changes["provider"] != row.provider:
                raise Conflict(
                    "The provider of a live session cannot change.", code="INVALID_STATE"
                )
            services.backend(changes["provider"])
        booking = changes.get("booking_id")
        if booking is not None and booking != row.booking_id:
            other = await session_queries.get_by_booking(tx, booking)
            if other is not None:
                raise Conflict("Another session has this booking_id.", code="BOOKING_TAKEN")
        _apply(row, changes)
        outbox.record_event(tx, "session.updated", session_id=row.id, payload=_event(row))
    return row


def _apply(row: LiveSessionRow, changes: dict[str, Any]) -> None:
    for name, value in changes.items():
        if name == "password":
            row.password_hash = hash_password(value) if value else None
        elif name == "duration":
            row.duration_minutes = value
        else:
            setattr(row, name, value)


async def cancel_session(services: Services, actor: Actor, session_id: uuid.UUID) -> LiveSessionRow:
    async with services.db.transaction() as tx:
        row = await _load(tx, session_id, for_update=True)
        require_host(actor, row)
        if row.status == SessionStatus.CANCELLED:
            return row
        check_transition(SessionStatus(row.status), SessionStatus.CANCELLED)
        row.status = SessionStatus.CANCELLED.value
        row.ended_at = utcnow()
        row.end_reason = "cancelled"
        await participant_queries.mark_all_left(tx, row.id)
        outbox.record_event(tx, "session.cancelled", session_id=row.id, payload=_event(row))
    await services.room_events.session_ended(row.id, "cancelled")
    return row


async def start_session(services: Services, actor: Actor, session_id: uuid.UUID) -> LiveSessionRow:
    async with services.db.transaction() as tx:
        row = await _load(tx, session_id)
        require_host(actor, row)
        if row.status == SessionStatus.LIVE:
            return row
        check_transition(SessionStatus(row.status), SessionStatus.LIVE)
    # Open the media room before the state changes: if the media server is down the
    # caller gets a 503 and the session stays scheduled, so a retry starts cleanly.
    room = await ensure_room(services, row)
    async with services.db.transaction() as tx:
        row = await _load(tx, session_id, for_update=True)
        if row.status == SessionStatus.LIVE:
            return row
        check_transition(SessionStatus(row.status), SessionStatus.LIVE)
        row.status = SessionStatus.LIVE.value
        row.started_at = utcnow()
        _store_room(row, room)
        outbox.record_event(tx, "session.started", session_id=row.id, payload=_event(row))
    await services.room_events.session_started(row.id)
    started = SessionStarted(session_id=row.id, is_recorded=row.is_recorded)
    for listener in services.session_listeners:
        await listener.session_started(started)
    return row


async def ensure_room(services: Services, row: LiveSessionRow | SessionRecord) -> MediaRoom:
    backend = services.backend(row.provider)
    return await backend.open_room(
        RoomSpec(
            session_id=row.id,
            title=row.title,
            max_participants=row.max_participants + 1,
            max_publishers=_publisher_cap(services, row),
            record=row.is_recorded,
        )
    )


def _publisher_cap(services: Services, row: LiveSessionRow | SessionRecord) -> int:
    if row.provider == "mesh":
        return services.settings.mesh_max_publishers
    return row.max_participants + 1


def _store_room(row: LiveSessionRow, room: MediaRoom) -> None:
    row.media_server = room.server
    row.media_room = {"backend": room.backend, "server": room.server, "data": room.data}


def stored_room(row: LiveSessionRow | SessionRecord) -> MediaRoom | None:
    if not row.media_room:
        return None
    stored = row.media_room
    return MediaRoom(
        backend=stored["backend"], server=stored.get("server"), data=stored.get("data", {})
    )


async def end_session(
    services: Services,
    actor: Actor | None,
    session_id: uuid.UUID,
    *,
    reason: EndReason = EndReason.ENDED_BY_HOST,
) -> LiveSessionRow:
    """End a live session; ``actor`` None means the system (expiry)."""
    async with services.db.transaction() as tx:
        row = await _load(tx, session_id, for_update=True)
        if actor is not None:
            require_host(actor, row)
        if row.status == SessionStatus.ENDED:
            return row
        check_transition(SessionStatus(row.status), SessionStatus.ENDED)
        now = utcnow()
        row.status = SessionStatus.ENDED.value
        row.ended_at = now
        row.end_reason = reason.value
        await attendance.close_session(tx, session_id=row.id, at=now)
        await participant_queries.mark_all_left(tx, row.id)
        await polls.close_open_polls(tx, row.id)
        outbox.record_event(tx, "session.ended", session_id=row.id, payload=_event(row))
    # before the room closes: Janus must close its recordings, the recorder its files
    ended = SessionEnded(session_id=row.id, reason=reason)
    for listener in services.session_listeners:
        await listener.session_ended(ended)
    await _close_room(services, row)
    await services.room_events.session_ended(row.id, reason.value)
    return row


async def _close_room(services: Services, row: LiveSessionRow) -> None:
    room = stored_room(row)
    if room is None:
        return
    try:
        await services.backend(row.provider).close_room(room)
    except DomainError:
        # The session has ended either way; a room left on a media server that is down
        # disappears with that server's restart.
        log.warning("could not close media room of session %s", row.id, exc_info=True)


async def expire_overdue(services: Services) -> list[uuid.UUID]:
    """End live sessions past their slot with nobody connected (``end_reason: expired``)."""
    now = utcnow()
    async with services.db.transaction() as tx:
        overdue = await session_queries.live_sessions_past(tx, now)
        idle = [
            r.id
            for r in overdue
            if not await attendance.connected_participants(tx, session_id=r.id)
        ]
    for session_id in idle:
        await end_session(services, None, session_id, reason=EndReason.EXPIRED)
    return idle


async def rotate_invite(services: Services, actor: Actor, session_id: uuid.UUID) -> LiveSessionRow:
    async with services.db.transaction() as tx:
        row = await _load(tx, session_id, for_update=True)
        require_host(actor, row)
        row.invite_version += 1
    return row


async def _load(
    tx: Transaction, session_id: uuid.UUID, *, for_update: bool = False
) -> LiveSessionRow:
    row = await session_queries.get_session(tx, session_id, for_update=for_update)
    if row is None:
        raise NotFound("No such session.", code="SESSION_NOT_FOUND")
    return row


def _event(row: LiveSessionRow) -> dict[str, Any]:
    return {
        "session_id": str(row.id),
        "status": row.status,
        "booking_id": row.booking_id,
        "course_id": row.course_id,
        "end_reason": row.end_reason,
    }
