"""Session use cases: create, update, cancel, start, end, expire, invite rotation."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from liveclass.auth.passwords import hash_password
from liveclass.control import hosted, hosted_attendance, polls
from liveclass.db import attendance, outbox, seats
from liveclass.db import sessions as session_queries
from liveclass.db.database import Reader, Tx
from liveclass.db.sessions import SessionRecord
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
from liveclass.domain.roles import Role
from liveclass.media.backend import MediaRoom, RoomSpec
from liveclass.media.livekit import LiveKitBackend
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
) -> tuple[SessionRecord, bool]:
    """Create a session; for a booking that already has one, return that one (created=False).
    A hosted provider's meeting is made first, and deleted again if the save fails."""
    provider_name = draft.provider or services.settings.default_provider
    services.backend(provider_name)  # refuse providers this server cannot run
    provider = services.hosted_provider(provider_name)
    async with services.db.reader() as r:
        existing = await _booked(r, actor, draft.booking_id)
    if existing is not None:
        return existing, False
    _check_schedule(draft.scheduled_at)
    session = _new_session(actor, draft, provider_name)
    if provider is not None:
        session = await hosted.create_meeting(provider, session)
    try:
        saved = await _save_new(session, services, actor, draft)
    except BaseException:
        if provider is not None:
            await hosted.discard(provider, session)
        raise
    if saved is not session and provider is not None:
        await hosted.discard(provider, session)  # the booking's session was made meanwhile
    return saved, saved is session


async def _save_new(
    session: SessionRecord, services: Services, actor: Actor, draft: SessionDraft
) -> SessionRecord:
    """The new session saved, or the booking's session another create saved first."""
    async with services.db.transaction() as tx:
        existing = await _booked(tx, actor, draft.booking_id)
        if existing is not None:
            return existing
        if not await session_queries.insert_session(tx, session=session):
            # Two creates for one booking raced and the other committed first.
            existing = await _booked(tx, actor, draft.booking_id)
            assert existing is not None
            return existing
        if hosted.is_hosted(session.provider):
            await hosted.remember_meeting(tx, session)
        await _announce(tx, "session.created", session)
    return session


def _new_session(actor: Actor, draft: SessionDraft, provider: str) -> SessionRecord:
    now = utcnow()
    return SessionRecord(
        id=uuid.uuid4(),
        title=draft.title,
        description=draft.description,
        course_id=draft.course_id,
        booking_id=draft.booking_id,
        session_type=draft.session_type,
        status=SessionStatus.SCHEDULED,
        scheduled_at=draft.scheduled_at,
        duration_minutes=draft.duration,
        max_participants=draft.max_participants,
        is_public=draft.is_public,
        is_recorded=draft.is_recorded,
        waiting_room=draft.waiting_room,
        password_hash=hash_password(draft.password) if draft.password else None,
        provider=provider,
        default_role=Role(draft.default_role),
        owner_id=actor.user_id,
        owner_name=actor.name,
        invite_version=1,
        media_server=None,
        media_room=None,
        started_at=None,
        ended_at=None,
        end_reason=None,
        peak_participants=0,
        created_at=now,
        updated_at=now,
    )


def host_media_token(services: Services, row: SessionRecord) -> str | None:
    """Seed 001's ``host_token``: the owner's token for a LiveKit session's room (None for
    other providers, whose media starts at the classroom socket)."""
    backend = services.backends.get(row.provider)
    if not isinstance(backend, LiveKitBackend):
        return None
    return backend.host_token(row.id, user_id=row.owner_id, name=row.owner_name)


async def _booked(tx: Reader, actor: Actor, booking_id: str | None) -> SessionRecord | None:
    """The session already made for this booking, if the actor may have it returned."""
    if booking_id is None:
        return None
    existing = await session_queries.get_by_booking(tx, booking_id=booking_id)
    if existing is not None and existing.owner_id != actor.user_id and not actor.is_admin:
        raise Conflict("Another host already has a session for this booking.", code="BOOKING_TAKEN")
    return existing


async def update_session(
    services: Services, actor: Actor, session_id: uuid.UUID, changes: dict[str, Any]
) -> SessionRecord:
    """Change a session; a hosted provider's meeting follows first (and is put back if the
    change then fails to save)."""
    async with services.db.reader() as r:
        before = await _load(r, session_id)
    hosted.check_provider_change(before, changes)
    provider = services.hosted_provider(before.provider)
    planned: SessionRecord | None = None
    if provider is not None and hosted.touches_meeting(_columns(changes)):
        _check_changeable(actor, before, changes)
        after = replace(before, **_columns(changes))
        planned = await hosted.reschedule(provider, before, after)
    try:
        return await _save_change(services, actor, session_id, changes, planned)
    except BaseException:
        if provider is not None and planned is not None:
            await hosted.restore(provider, before)
        raise


def _check_changeable(actor: Actor, row: SessionRecord, changes: dict[str, Any]) -> None:
    require_host(actor, row)
    if row.status in (SessionStatus.ENDED, SessionStatus.CANCELLED):
        raise Conflict(f"A {row.status} session cannot be changed.", code="INVALID_STATE")
    if "scheduled_at" in changes and changes["scheduled_at"] != row.scheduled_at:
        _check_schedule(changes["scheduled_at"])


async def _save_change(
    services: Services,
    actor: Actor,
    session_id: uuid.UUID,
    changes: dict[str, Any],
    planned: SessionRecord | None,
) -> SessionRecord:
    async with services.db.transaction() as tx:
        row = await _load(tx, session_id, for_update=True)
        _check_changeable(actor, row, changes)
        if "provider" in changes:
            if row.status is SessionStatus.LIVE and changes["provider"] != row.provider:
                raise Conflict(
                    "The provider of a live session cannot change.", code="INVALID_STATE"
                )
            services.backend(changes["provider"])
        booking = changes.get("booking_id")
        if booking is not None and booking != row.booking_id:
            other = await session_queries.get_by_booking(tx, booking_id=booking)
            if other is not None:
                raise Conflict("Another session has this booking_id.", code="BOOKING_TAKEN")
        now = utcnow()
        row = await session_queries.change(tx, session_id=row.id, values=_columns(changes), at=now)
        if planned is not None and planned.media_room != row.media_room:
            row = await session_queries.set_media(
                tx,
                session_id=row.id,
                server=planned.media_server,
                room=planned.media_room,
                at=now,
            )
        await _announce(tx, "session.updated", row)
    return row


def _columns(changes: dict[str, Any]) -> dict[str, Any]:
    """The API's changes as the columns they write."""
    columns: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "password":
            columns["password_hash"] = hash_password(value) if value else None
        elif name == "duration":
            columns["duration_minutes"] = value
        else:
            columns[name] = value
    return columns


async def cancel_session(services: Services, actor: Actor, session_id: uuid.UUID) -> SessionRecord:
    provider = None
    async with services.db.reader() as r:
        before = await _load(r, session_id)
        provider = services.hosted_provider(before.provider)
    if provider is not None and before.status is not SessionStatus.CANCELLED:
        require_host(actor, before)
        check_transition(before.status, SessionStatus.CANCELLED)
        await hosted.delete_meeting(provider, before)
    async with services.db.transaction() as tx:
        row = await _load(tx, session_id, for_update=True)
        require_host(actor, row)
        if row.status is SessionStatus.CANCELLED:
            return row
        now = utcnow()
        row = await session_queries.move(
            tx, session=row, to=SessionStatus.CANCELLED, at=now, end_reason="cancelled"
        )
        await seats.free_all(tx, session_id=row.id, at=now)
        await _announce(tx, "session.cancelled", row)
    await services.room_events.session_ended(row.id, "cancelled")
    return row


async def start_session(
    services: Services, actor: Actor | None, session_id: uuid.UUID
) -> SessionRecord:
    """Start a scheduled session; ``actor`` None means the system (a hosted provider's
    meeting began)."""
    async with services.db.reader() as conn:
        row = await _load(conn, session_id)
    if actor is not None:
        require_host(actor, row)
    if row.status is SessionStatus.LIVE:
        return row
    check_transition(row.status, SessionStatus.LIVE)
    # Open the media room before the state changes: if the media server is down the
    # caller gets a 503 and the session stays scheduled, so a retry starts cleanly.
    room = await ensure_room(services, row)
    async with services.db.transaction() as tx:
        row = await _load(tx, session_id, for_update=True)
        if row.status is SessionStatus.LIVE:
            return row
        stored = {"backend": room.backend, "server": room.server, "data": room.data}
        row = await session_queries.move(
            tx, session=row, to=SessionStatus.LIVE, at=utcnow(), media=(room.server, stored)
        )
        await _announce(tx, "session.started", row)
    await services.room_events.session_started(row.id)
    started = SessionStarted(session_id=row.id, is_recorded=row.is_recorded)
    for listener in services.session_listeners:
        await listener.session_started(started)
    return row


async def ensure_room(services: Services, row: SessionRecord) -> MediaRoom:
    backend = services.backend(row.provider)
    if hosted.is_hosted(row.provider):
        # the meeting was made with the session: it is the room
        room = stored_room(row)
        if room is not None:
            return room
    return await backend.open_room(
        RoomSpec(
            session_id=row.id,
            title=row.title,
            max_participants=row.max_participants + 1,
            max_publishers=_publisher_cap(services, row),
            record=row.is_recorded,
        )
    )


def _publisher_cap(services: Services, row: SessionRecord) -> int:
    if row.provider == "mesh":
        return services.settings.mesh_max_publishers
    return row.max_participants + 1


def stored_room(row: SessionRecord) -> MediaRoom | None:
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
) -> SessionRecord:
    """End a live session; ``actor`` None means the system (expiry)."""
    async with services.db.transaction() as tx:
        row = await _load(tx, session_id, for_update=True)
        if actor is not None:
            require_host(actor, row)
        if row.status is SessionStatus.ENDED:
            return row
        now = utcnow()
        row = await session_queries.move(
            tx, session=row, to=SessionStatus.ENDED, at=now, end_reason=reason.value
        )
        await attendance.close_session(tx, session_id=row.id, at=now)
        await seats.free_all(tx, session_id=row.id, at=now)
        await polls.close_open_polls(tx, row.id)
        await hosted_attendance.schedule(tx, services, row, at=now)
        await _announce(tx, "session.ended", row)
    # before the room closes: Janus must close its recordings, the recorder its files
    ended = SessionEnded(session_id=row.id, reason=reason)
    for listener in services.session_listeners:
        await listener.session_ended(ended)
    await _close_room(services, row)
    await services.room_events.session_ended(row.id, reason.value)
    # a provider's own attendance records (Meet, Teams), first read once its meeting ended;
    # a read that fails is tried again by the background pass
    if hosted.is_hosted(row.provider):
        await hosted_attendance.read_session(services, row.id)
    return row


async def _close_room(services: Services, row: SessionRecord) -> None:
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
    async with services.db.reader() as conn:
        overdue = await session_queries.live_sessions_past(conn, now=now)
        idle = [
            r.id
            for r in overdue
            if not await attendance.connected_participants(conn, session_id=r.id)
        ]
    for session_id in idle:
        await end_session(services, None, session_id, reason=EndReason.EXPIRED)
    return idle


async def rotate_invite(services: Services, actor: Actor, session_id: uuid.UUID) -> SessionRecord:
    async with services.db.transaction() as tx:
        row = await _load(tx, session_id, for_update=True)
        require_host(actor, row)
        return await session_queries.change(
            tx,
            session_id=row.id,
            values={"invite_version": row.invite_version + 1},
            at=utcnow(),
        )


async def _load(db: Reader, session_id: uuid.UUID, *, for_update: bool = False) -> SessionRecord:
    row = await session_queries.get_session(db, session_id=session_id, for_update=for_update)
    if row is None:
        raise NotFound("No such session.", code="SESSION_NOT_FOUND")
    return row


async def _announce(tx: Tx, event_type: str, row: SessionRecord) -> None:
    await outbox.add(
        tx,
        event_type=event_type,
        session_id=row.id,
        payload={
            "session_id": str(row.id),
            "status": row.status.value,
            "booking_id": row.booking_id,
            "course_id": row.course_id,
            "end_reason": row.end_reason,
        },
    )
