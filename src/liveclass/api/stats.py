"""Attendance figures of one session, from participants and their attendance intervals."""

from __future__ import annotations

from liveclass.api.schemas import AttendanceOut, PollSummaryOut, StatsOut
from liveclass.db import attendance, seats
from liveclass.db import polls as poll_queries
from liveclass.db.sessions import SessionRecord
from liveclass.db.types import utcnow
from liveclass.domain.participants import ParticipantStatus
from liveclass.services import Services

_ADMITTED = (ParticipantStatus.JOINED, ParticipantStatus.LEFT, ParticipantStatus.KICKED)


async def session_stats(services: Services, row: SessionRecord) -> StatsOut:
    now = utcnow()
    async with services.db.transaction() as tx:
        people = await seats.all_participants(tx, session_id=row.id)
        seconds = await attendance.seconds_by_participant(tx, session_id=row.id, now=now)
        connected = await attendance.connected_participants(tx, session_id=row.id)
        polls = [
            PollSummaryOut(
                id=poll.id,
                question=poll.question,
                quiz=poll.quiz,
                total_voters=(await poll_queries.results(tx, poll=poll)).total_voters,
            )
            for poll in await poll_queries.session_polls(tx, session_id=row.id)
        ]
    end = row.ended_at or now
    duration = (end - row.started_at).total_seconds() if row.started_at else 0.0
    return StatsOut(
        session_id=row.id,
        status=row.status,
        current_participants=sum(p.status == ParticipantStatus.JOINED for p in people),
        connected_participants=len(connected),
        peak_participants=row.peak_participants,
        total_unique_participants=sum(p.status in _ADMITTED for p in people),
        duration_seconds=round(max(duration, 0.0), 3),
        attendance=[
            AttendanceOut(
                participant_id=p.id,
                user_id=p.user_id,
                name=p.name,
                role=p.role,
                status=p.status,
                connected=p.id in connected,
                total_seconds=round(seconds.get(p.id, 0.0), 3),
                first_joined_at=p.first_joined_at,
                left_at=p.left_at,
            )
            for p in people
        ],
        polls=polls,
    )
