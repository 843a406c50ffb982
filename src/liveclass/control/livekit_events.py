"""What LiveKit's webhooks change in liveclass, once each (its signature already checked).

- ``participant_joined`` / ``participant_left`` (and ``participant_connection_aborted``)
  open and close an attendance span of that participant, ``livekit:<participant sid>`` on
  the pseudo node ``livekit``, timed by the event. The identity is the platform user id
  liveclass put in the token. Someone in liveclass's classroom as well has two spans at
  once; durations take their union and connected counts count people, so they count once.
- ``room_finished``: LiveKit closed the room (everyone left and its empty timeout passed,
  or it was deleted). The event is kept, and the spans LiveKit left open close at its
  time. The class does NOT end: people may come back within its slot (their next token
  brings the room back); the host or the expiry ends it, as with every provider.
- ``egress_started`` confirms the recording (``recording``); ``egress_ended`` makes it
  ``ready`` with the file LiveKit wrote into storage, or ``failed``.

Deliveries repeat and arrive out of order: each event id is written to
``provider_events`` in the same transaction as its effect, and the attendance steps
accept a disconnect before its connect (``attendance.disconnected_at``).
"""

from __future__ import annotations

import enum
import hashlib
import uuid
from datetime import UTC, datetime
from pathlib import PurePosixPath

from liveclass.db import attendance, provider_events, recordings, seats
from liveclass.db.database import Tx
from liveclass.db.recordings import RecordingRecord
from liveclass.db.types import utcnow
from liveclass.domain.lifecycle import SessionStatus
from liveclass.domain.participants import ParticipantStatus
from liveclass.domain.recordings import RecordingState
from liveclass.media.livekit_messages import EgressInfo, EgressStatus
from liveclass.media.livekit_tokens import WebhookEvent
from liveclass.recording import service as recording_service
from liveclass.recording.capture import provider_key
from liveclass.recording.errors import RecordingError
from liveclass.services import Services

PROVIDER = "livekit"
NODE = "livekit"

_JOINED = frozenset({"participant_joined"})
_LEFT = frozenset({"participant_left", "participant_connection_aborted"})
_EGRESS = frozenset({"egress_started", "egress_updated", "egress_ended"})
_UNFINISHED = frozenset(
    {RecordingState.STARTING, RecordingState.RECORDING, RecordingState.PROCESSING}
)
# an egress that hit a limit still wrote a playable file up to it
_FILE_WRITTEN = frozenset({EgressStatus.COMPLETE, EgressStatus.LIMIT_REACHED})


class Outcome(enum.StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"  # this event id was handled before
    IGNORED = "ignored"  # not about a liveclass session, or nothing to change


async def receive(services: Services, event: WebhookEvent, *, body: bytes) -> Outcome:
    """Apply one verified LiveKit event; a repeated event id changes nothing."""
    session_id = _session_of(event.room_name)
    changed: RecordingRecord | None = None
    async with services.db.transaction() as tx:
        fresh = await provider_events.remember(
            tx,
            provider=PROVIDER,
            event_id=event.id or _body_id(body),
            event=event.event,
            room=event.room_name,
        )
        if not fresh:
            return Outcome.DUPLICATE
        if session_id is None:
            return Outcome.IGNORED
        at = _time_of(event)
        if event.event in _JOINED or event.event in _LEFT:
            applied = await _attendance(tx, session_id, event, at)
        elif event.event == "room_finished":
            await attendance.close_node_in_session(tx, session_id=session_id, node_id=NODE, at=at)
            applied = True
        elif event.event in _EGRESS and event.egress is not None:
            changed = await _egress(tx, session_id, event.event, event.egress)
            applied = changed is not None
        else:
            applied = False
    if changed is not None:
        await services.room_events.recording_changed(changed.session_id, changed.id, changed.state)
    return Outcome.APPLIED if applied else Outcome.IGNORED


# -- attendance ----------------------------------------------------------------------------


async def _attendance(tx: Tx, session_id: uuid.UUID, event: WebhookEvent, at: datetime) -> bool:
    if not event.participant_identity or not event.participant_sid:
        return False
    # the session's lock: one span per LiveKit connection, even with deliveries in parallel
    room = await seats.lock_room(tx, session_id=session_id, user_id=event.participant_identity)
    if room is None or room.me is None:
        return False  # not a liveclass session, or someone liveclass gave no token
    if event.event in _LEFT:
        step = attendance.disconnected_at
    elif room.session.status is SessionStatus.LIVE and room.me.status is ParticipantStatus.JOINED:
        step = attendance.connected_at
    else:
        return False  # a late report of someone kicked, or of a class already over
    await step(
        tx,
        session_id=session_id,
        participant_id=room.me.id,
        connection_id=f"{PROVIDER}:{event.participant_sid}",
        node_id=NODE,
        at=at,
    )
    return True


# -- recordings ----------------------------------------------------------------------------


async def _egress(
    tx: Tx, session_id: uuid.UUID, kind: str, egress: EgressInfo
) -> RecordingRecord | None:
    found = await _recording_of(tx, session_id, egress)
    if found is None:
        return None
    if kind != "egress_ended":
        if egress.status in (EgressStatus.STARTING, EgressStatus.ACTIVE):
            return await recording_service.confirm_started(tx, recording_id=found.id)
        return None  # ENDING: the end comes in egress_ended
    outcome: recording_service.StoredFile | RecordingError
    written = [f for f in egress.file_results if f.size > 0]
    if egress.status in _FILE_WRITTEN and written:
        outcome = recording_service.StoredFile(
            key=provider_key(found),
            size=written[0].size,
            duration_ms=written[0].duration // 1_000_000 or None,
        )
    else:
        reason = egress.error or f"the egress ended {egress.status.name.lower()} without a file"
        outcome = RecordingError(f"LiveKit: {reason}")
    return await recording_service.record_stored(tx, recording_id=found.id, outcome=outcome)


async def _recording_of(
    tx: Tx, session_id: uuid.UUID, egress: EgressInfo
) -> RecordingRecord | None:
    """The recording an egress wrote: named by its file (``<recording id>/livekit.mp4``),
    else the session's newest unfinished LiveKit recording (a failure reports no file)."""
    for result in egress.file_results:
        recording_id = _uuid(PurePosixPath(result.filename).parent.name)
        if recording_id is None:
            continue
        found = await recordings.get(tx, recording_id=recording_id, for_update=True)
        if found is not None and found.session_id == session_id and found.backend == PROVIDER:
            return found
    found = await recordings.latest_of(tx, session_id=session_id, states=_UNFINISHED)
    return found if found is not None and found.backend == PROVIDER else None


# -- reading the event ---------------------------------------------------------------------


def _session_of(room: str) -> uuid.UUID | None:
    """liveclass names a session's room after its id (``media.livekit.room_name``)."""
    return _uuid(room)


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _time_of(event: WebhookEvent) -> datetime:
    """When it happened by LiveKit's clock; never in the future of ours."""
    now = utcnow()
    if event.created_at <= 0:
        return now
    try:
        at = datetime.fromtimestamp(event.created_at, UTC)
    except (OverflowError, OSError, ValueError):
        return now
    return min(at, now)


def _body_id(body: bytes) -> str:
    # every LiveKit event has an id; should one not, its signed body identifies it
    return "sha256:" + hashlib.sha256(body).hexdigest()[:64]
