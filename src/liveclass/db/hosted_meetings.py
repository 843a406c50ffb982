"""Hosted providers' meetings of sessions (``hosted_meetings``): found by the provider's
meeting id (what its webhooks name), and the recordings waiting to be downloaded from it.

A pending download is kept here from the webhook that reported the file (in that
webhook's transaction, with its de-duplication row) until the file is in liveclass's
storage, so a failed download is tried again and the event is never lost."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from liveclass.db.database import Reader, Statement, Tx
from liveclass.db.records import Build, values_of
from liveclass.db.tables import HOSTED_MEETINGS
from liveclass.db.types import utcnow

_H = HOSTED_MEETINGS.c


@dataclass(frozen=True, slots=True)
class HostedMeetingRecord:
    """A row of ``hosted_meetings``; ``downloads`` maps a liveclass recording id to what
    the provider said of the file (``RecordingFile``'s fields) and the attempts so far."""

    provider: str
    meeting_id: str
    session_id: uuid.UUID
    url: str
    downloads: dict[str, Any]
    pending: int
    recording_url: str | None
    created_at: datetime
    updated_at: datetime
    attendance_due_at: datetime | None = None
    attendance_reads: int = 0
    transcript_url: str | None = None


_build = Build(HostedMeetingRecord)
_INSERT = Statement.insert_new(HOSTED_MEETINGS, keys=tuple(HOSTED_MEETINGS.c.keys()))


async def add(tx: Tx, *, provider: str, meeting_id: str, session_id: uuid.UUID, url: str) -> bool:
    """Note the session's meeting; False when that meeting id is taken already."""
    now = utcnow()
    record = HostedMeetingRecord(
        provider=provider,
        meeting_id=meeting_id,
        session_id=session_id,
        url=url,
        downloads={},
        pending=0,
        recording_url=None,
        created_at=now,
        updated_at=now,
    )
    return await tx.run(_INSERT, values_of(record)) == 1


async def by_meeting(
    db: Reader, *, provider: str, meeting_id: str, for_update: bool = False
) -> HostedMeetingRecord | None:
    query = select(HOSTED_MEETINGS).where(_H.provider == provider, _H.meeting_id == meeting_id)
    if for_update:
        query = query.with_for_update()
    return _build.maybe(await db.one(query))


async def by_url(db: Reader, *, provider: str, url: str) -> HostedMeetingRecord | None:
    """The meeting whose join link is ``url`` (Teams' notifications name it so)."""
    query = select(HOSTED_MEETINGS).where(_H.provider == provider, _H.url == url)
    return _build.maybe(await db.one(query.limit(1)))


async def of_session(db: Reader, *, session_id: uuid.UUID) -> HostedMeetingRecord | None:
    return _build.maybe(await db.one(select(HOSTED_MEETINGS).where(_H.session_id == session_id)))


async def with_pending(db: Reader) -> list[HostedMeetingRecord]:
    """Meetings with recordings still to download."""
    rows = await db.all(select(HOSTED_MEETINGS).where(_H.pending > 0))
    return [_build(row) for row in rows]


async def set_downloads(
    tx: Tx,
    *,
    meeting: HostedMeetingRecord,
    downloads: dict[str, Any],
    recording_url: str | None = None,
) -> None:
    """Write the pending downloads (and, once one is stored, the recording's URL)."""
    values: dict[str, Any] = {
        "downloads": downloads,
        "pending": len(downloads),
        "updated_at": utcnow(),
    }
    if recording_url is not None:
        values["recording_url"] = recording_url
    await tx.run(
        update(HOSTED_MEETINGS)
        .where(_H.provider == meeting.provider, _H.meeting_id == meeting.meeting_id)
        .values(values)
    )


async def set_transcript(tx: Tx, *, meeting: HostedMeetingRecord, url: str) -> None:
    """Where the provider keeps the class's transcript (the newest one found)."""
    await tx.run(
        update(HOSTED_MEETINGS)
        .where(_H.provider == meeting.provider, _H.meeting_id == meeting.meeting_id)
        .values(transcript_url=url, updated_at=utcnow())
    )


# attendance reads (providers that keep their own attendance records)


async def schedule_attendance(tx: Tx, *, session_id: uuid.UUID, at: datetime) -> None:
    """The session's meeting's attendance is to be read from ``at`` on."""
    await tx.run(
        update(HOSTED_MEETINGS).where(_H.session_id == session_id).values(attendance_due_at=at)
    )


async def attendance_due(db: Reader, *, now: datetime) -> list[HostedMeetingRecord]:
    rows = await db.all(select(HOSTED_MEETINGS).where(_H.attendance_due_at <= now))
    return [_build(row) for row in rows]


async def claim_attendance(
    tx: Tx, *, meeting: HostedMeetingRecord, now: datetime, until: datetime
) -> HostedMeetingRecord | None:
    """Take the meeting's due read (another node finds it due only after ``until``); None
    when it is not due, or taken already."""
    taken = await tx.run(
        update(HOSTED_MEETINGS)
        .where(
            _H.provider == meeting.provider,
            _H.meeting_id == meeting.meeting_id,
            _H.attendance_due_at <= now,
        )
        .values(attendance_due_at=until)
    )
    if taken != 1:
        return None
    return await by_meeting(tx, provider=meeting.provider, meeting_id=meeting.meeting_id)


async def attendance_read(
    tx: Tx, *, meeting: HostedMeetingRecord, reads: int, next_due: datetime | None
) -> None:
    """Note a finished read: the successful reads so far, and when the next is due."""
    await tx.run(
        update(HOSTED_MEETINGS)
        .where(_H.provider == meeting.provider, _H.meeting_id == meeting.meeting_id)
        .values(attendance_reads=reads, attendance_due_at=next_due)
    )
