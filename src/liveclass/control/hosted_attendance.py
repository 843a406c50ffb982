"""Who came and left, as a hosted provider tells it, in liveclass's attendance.

Two sources, one span per provider connection (``<provider>:<connection>`` on the pseudo
node ``<provider>``):

- pushed (webhooks, ``control.hosted_events``): applied while the class is scheduled or
  live, for people it still seats;
- recorded (``ReadsAttendance``: Meet's conference records, Teams' attendance reports):
  read when the class ends and again ``READ_DELAYS`` after its end, as those records fill
  in after the meeting (a provider that is down is read again every ``RETRY`` for a day).
  Applied although the class has ended, clipped to the class (from its start to its end,
  or to a kick), a record's leave winning over the close liveclass made at the end. Each
  event id is remembered in ``provider_events`` with its effect, so reads repeat safely.

The same reads look for the files a provider lists on its records (``ReadsRecordings``:
Meet's recordings), queued for ``control.hosted_downloads`` under the event id a push of
the same file carries, so a file is kept once whichever comes first.

A person is found by the platform user id the provider was given, by the number liveclass
derived for them (``numeric_uid``), or by the display name the provider shows when exactly
one of the session's participants has that name (case and spacing folded).
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import datetime, timedelta

from liveclass.control import hosted_downloads
from liveclass.control.hosted import meeting_of
from liveclass.db import attendance, hosted_meetings, provider_events, seats
from liveclass.db.database import Tx
from liveclass.db.hosted_meetings import HostedMeetingRecord
from liveclass.db.seats import LockedRoom
from liveclass.db.sessions import SessionRecord, get_session
from liveclass.db.types import utcnow
from liveclass.domain.errors import DomainError
from liveclass.domain.lifecycle import SessionStatus
from liveclass.domain.participants import ParticipantStatus
from liveclass.providers.hosted import (
    EventKind,
    ProviderEvent,
    ReadsAttendance,
    ReadsRecordings,
    numeric_uid,
)
from liveclass.services import Services

log = logging.getLogger(__name__)

# the reads after a class's end: at once, then as the provider's records fill in
READ_DELAYS = (timedelta(0), timedelta(minutes=5), timedelta(minutes=30))
RETRY = timedelta(minutes=1)  # a read that failed (the provider down) is tried again
GIVE_UP = timedelta(days=1)  # after the class's end, failed reads stop
CLAIM = timedelta(minutes=10)  # a read in progress on one node keeps the others off it
MAX_CONNECTION = 64  # attendance_intervals.connection_id


def connection_id(provider: str, connection: str) -> str:
    """The span's connection id; a provider's long resource names are digested to fit."""
    whole = f"{provider}:{connection}"
    if len(whole) <= MAX_CONNECTION:
        return whole
    return f"{provider}:{hashlib.sha256(connection.encode()).hexdigest()[:40]}"


# -- applying one event --------------------------------------------------------------------


async def apply(
    tx: Tx, provider: str, session_id: uuid.UUID, event: ProviderEvent, *, recorded: bool = False
) -> bool:
    """Apply a joined/left event to the session's attendance; False when it changes
    nothing (someone liveclass gave no link, a class not running, a kicked person)."""
    user_id = event.user_id or await _user_of(tx, session_id, event)
    if not user_id or not event.connection:
        return False
    room = await seats.lock_room(tx, session_id=session_id, user_id=user_id)
    if room is None or room.me is None:
        return False  # someone liveclass gave no link (the provider's own guests)
    span = connection_id(provider, event.connection)
    if recorded:
        return await _recorded(tx, provider, room, event, span)
    if event.kind is EventKind.PARTICIPANT_LEFT:
        step = attendance.disconnected_at
    elif (
        room.session.status in (SessionStatus.SCHEDULED, SessionStatus.LIVE)
        and room.me.status is ParticipantStatus.JOINED
    ):
        # a hosted class may report its people before its meeting's start arrives
        step = attendance.connected_at
    else:
        return False  # a late report of someone kicked, or of a class already over
    await step(
        tx,
        session_id=session_id,
        participant_id=room.me.id,
        connection_id=span,
        node_id=provider,
        at=event.at,
    )
    return True


async def _recorded(
    tx: Tx, provider: str, room: LockedRoom, event: ProviderEvent, span: str
) -> bool:
    """A join or leave from the provider's records, within the class's time."""
    assert room.me is not None
    window = _window(room)
    if window is None:
        return False
    start, end = window
    at = max(event.at, start)
    if end is not None and at > end:
        at = end
    me, session_id = room.me.id, room.session.id
    if event.kind is EventKind.PARTICIPANT_LEFT:
        if event.at <= start:
            return False  # left before the class began
        await attendance.left_on_record_at(
            tx,
            session_id=session_id,
            participant_id=me,
            connection_id=span,
            node_id=provider,
            at=at,
        )
        return True
    if end is not None and event.at >= end:
        return False  # came after the class was over
    await attendance.connected_at(
        tx, session_id=session_id, participant_id=me, connection_id=span, node_id=provider, at=at
    )
    if end is not None:
        # still there by the records: counted to the class's end, a later leave shortens it
        await attendance.close_interval(tx, connection_id=span, at=end)
    return True


def _window(room: LockedRoom) -> tuple[datetime, datetime | None] | None:
    """From the class's start to its end (None while live), or to the person's kick."""
    session, me = room.session, room.me
    if session.started_at is None or session.status not in (
        SessionStatus.LIVE,
        SessionStatus.ENDED,
    ):
        return None
    end = session.ended_at
    if me is not None and me.kicked_at is not None:
        end = me.kicked_at if end is None else min(end, me.kicked_at)
    return session.started_at, end


async def _user_of(tx: Tx, session_id: uuid.UUID, event: ProviderEvent) -> str | None:
    """The participant a provider's number (``numeric_uid``) or shown name stands for."""
    if event.uid is None and not event.display_name:
        return None
    people = await seats.all_participants(tx, session_id=session_id)
    if event.uid is not None:
        for person in people:
            if numeric_uid(event.meeting_id, person.user_id) == event.uid:
                return person.user_id
        return None
    assert event.display_name is not None
    named = {p.user_id for p in people if fold(p.name) == fold(event.display_name)}
    return named.pop() if len(named) == 1 else None


def fold(name: str) -> str:
    return " ".join(name.split()).casefold()


# -- reading the provider's records --------------------------------------------------------


async def schedule(tx: Tx, services: Services, session: SessionRecord, *, at: datetime) -> None:
    """At the class's end: its provider's records are to be read (where it keeps them)."""
    if isinstance(services.hosted_provider(session.provider), ReadsAttendance):
        await hosted_meetings.schedule_attendance(tx, session_id=session.id, at=at)


async def read_session(services: Services, session_id: uuid.UUID) -> bool:
    """Read the session's provider records now, if a read is due; whether one succeeded."""
    async with services.db.reader() as r:
        meeting = await hosted_meetings.of_session(r, session_id=session_id)
    if meeting is None or meeting.attendance_due_at is None:
        return False
    return await _read(services, meeting)


async def read_due(services: Services) -> int:
    """Read every meeting whose read is due (several nodes may run it); reads that
    succeeded."""
    async with services.db.reader() as r:
        due = await hosted_meetings.attendance_due(r, now=utcnow())
    return sum([await _read(services, meeting) for meeting in due])


async def _read(services: Services, meeting: HostedMeetingRecord) -> bool:
    provider = services.hosted_provider(meeting.provider)
    if not isinstance(provider, ReadsAttendance):
        return False  # its settings were removed: kept due until they are back
    now = utcnow()
    async with services.db.transaction() as tx:
        claimed = await hosted_meetings.claim_attendance(
            tx, meeting=meeting, now=now, until=now + CLAIM
        )
        session = await get_session(tx, session_id=meeting.session_id)
    found = None if session is None else meeting_of(session)
    if claimed is None or session is None or found is None:
        return False
    ended = session.ended_at or now
    try:
        events = await provider.attendance(found)
        files = await provider.recordings(found) if isinstance(provider, ReadsRecordings) else []
    except DomainError as exc:
        log.warning("attendance of %s meeting %s: %s", meeting.provider, meeting.meeting_id, exc)
        retry = now + RETRY if now < ended + GIVE_UP else None
        await _done(services, claimed, claimed.attendance_reads, retry)
        return False
    for event in [*events, *files]:
        await _apply_read(services, claimed, event)
    reads = claimed.attendance_reads + 1
    following = ended + READ_DELAYS[reads] if reads < len(READ_DELAYS) else None
    await _done(services, claimed, reads, following)
    return True


async def _apply_read(
    services: Services, meeting: HostedMeetingRecord, event: ProviderEvent
) -> None:
    """One event read from the provider's records, applied once (its id is the one a push
    of the same join, leave or file carries)."""
    changed = None
    async with services.db.transaction() as tx:
        # the meeting's row first, as a pushed event locks it: its downloads change
        current = await hosted_meetings.by_meeting(
            tx, provider=meeting.provider, meeting_id=meeting.meeting_id, for_update=True
        )
        fresh = await provider_events.remember(
            tx,
            provider=meeting.provider,
            event_id=event.event_id,
            event=event.kind.value,
            room=meeting.meeting_id,
        )
        if not fresh or current is None:
            return
        if event.kind in (EventKind.PARTICIPANT_JOINED, EventKind.PARTICIPANT_LEFT):
            await apply(tx, meeting.provider, meeting.session_id, event, recorded=True)
        else:
            _, changed = await hosted_downloads.keep_file(tx, meeting.provider, current, event)
    if changed is not None:
        await services.room_events.recording_changed(changed.session_id, changed.id, changed.state)


async def _done(
    services: Services, meeting: HostedMeetingRecord, reads: int, next_due: datetime | None
) -> None:
    async with services.db.transaction() as tx:
        await hosted_meetings.attendance_read(tx, meeting=meeting, reads=reads, next_due=next_due)
