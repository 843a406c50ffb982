"""Queries over polls, their named answers, and the ballots and counts of anonymous polls."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from liveclass.db.database import Transaction
from liveclass.db.tables import (
    ParticipantRow,
    PollAnswerRow,
    PollBallotRow,
    PollCountRow,
    PollRow,
)
from liveclass.db.types import utcnow
from liveclass.domain.polls import PollSpec, PollStatus


@dataclass(frozen=True, slots=True)
class Results:
    total_voters: int
    counts: dict[str, int]


@dataclass(frozen=True, slots=True)
class NamedAnswer:
    participant_id: uuid.UUID
    name: str
    options: list[str]
    correct: bool | None


async def insert_poll(
    tx: Transaction, *, session_id: uuid.UUID, spec: PollSpec, created_by: str
) -> PollRow:
    row = PollRow(
        id=uuid.uuid4(),
        session_id=session_id,
        question=spec.question,
        options=[{"id": o.id, "text": o.text} for o in spec.options],
        multiple=spec.multiple,
        anonymous=spec.anonymous,
        quiz=spec.quiz,
        correct=list(spec.correct),
        status=PollStatus.DRAFT.value,
        results_visible=spec.results_visible,
        created_by=created_by,
        created_at=utcnow(),
    )
    tx.orm.add(row)
    await tx.orm.flush()  # the counts refer to it; without relationships nothing orders the inserts
    if spec.anonymous:
        tx.orm.add_all(PollCountRow(poll_id=row.id, option_id=o.id, votes=0) for o in spec.options)
        await tx.orm.flush()
    return row


async def get_poll(
    tx: Transaction, *, session_id: uuid.UUID, poll_id: uuid.UUID, for_update: bool = False
) -> PollRow | None:
    query = select(PollRow).where(PollRow.id == poll_id, PollRow.session_id == session_id)
    if for_update:
        query = query.with_for_update()
    return (await tx.orm.scalars(query)).one_or_none()


async def session_polls(tx: Transaction, *, session_id: uuid.UUID) -> list[PollRow]:
    query = (
        select(PollRow)
        .where(PollRow.session_id == session_id)
        .order_by(PollRow.created_at, PollRow.id)
    )
    return list(await tx.orm.scalars(query))


async def has_polls(tx: Transaction, *, session_id: uuid.UUID) -> bool:
    found = await tx.orm.scalar(select(PollRow.id).where(PollRow.session_id == session_id).limit(1))
    return found is not None


async def save_answer(
    tx: Transaction,
    *,
    poll_id: uuid.UUID,
    participant_id: uuid.UUID,
    options: Sequence[str],
    correct: bool | None,
) -> None:
    """A named answer, replacing the participant's previous one."""
    found = await tx.orm.get(PollAnswerRow, (poll_id, participant_id))
    if found is None:
        tx.orm.add(
            PollAnswerRow(
                poll_id=poll_id,
                participant_id=participant_id,
                options=list(options),
                correct=correct,
                answered_at=utcnow(),
            )
        )
        return
    found.options, found.correct, found.answered_at = list(options), correct, utcnow()


async def add_ballot(
    tx: Transaction, *, poll_id: uuid.UUID, voter_key: str, options: Sequence[str]
) -> bool:
    """Count an anonymous vote; False when this voter key has voted already."""
    try:
        async with tx.orm.begin_nested():
            tx.orm.add(PollBallotRow(poll_id=poll_id, voter_key=voter_key))
    except IntegrityError:
        return False
    # one statement per vote: concurrent votes add up without reading the counts first
    await tx.orm.execute(
        update(PollCountRow)
        .where(PollCountRow.poll_id == poll_id, PollCountRow.option_id.in_(list(options)))
        .values(votes=PollCountRow.votes + 1)
    )
    return True


async def ballot_keys(tx: Transaction, *, poll_id: uuid.UUID) -> set[str]:
    rows = await tx.orm.scalars(
        select(PollBallotRow.voter_key).where(PollBallotRow.poll_id == poll_id)
    )
    return set(rows)


async def results(tx: Transaction, *, poll: PollRow) -> Results:
    counts = {o["id"]: 0 for o in poll.options}
    if poll.anonymous:
        rows = await tx.orm.execute(
            select(PollCountRow.option_id, PollCountRow.votes).where(
                PollCountRow.poll_id == poll.id
            )
        )
        counts.update({option: int(votes) for option, votes in rows.all()})
        voters = await tx.orm.scalar(
            select(func.count()).select_from(PollBallotRow).where(PollBallotRow.poll_id == poll.id)
        )
        return Results(int(voters or 0), counts)
    chosen = await tx.orm.scalars(
        select(PollAnswerRow.options).where(PollAnswerRow.poll_id == poll.id)
    )
    total = 0
    for options in chosen:
        total += 1
        for option in options:
            counts[option] = counts.get(option, 0) + 1
    return Results(total, counts)


async def named_answers(tx: Transaction, *, poll_id: uuid.UUID) -> list[NamedAnswer]:
    rows = await tx.orm.execute(
        select(
            PollAnswerRow.participant_id,
            ParticipantRow.name,
            PollAnswerRow.options,
            PollAnswerRow.correct,
        )
        .join(ParticipantRow, ParticipantRow.id == PollAnswerRow.participant_id)
        .where(PollAnswerRow.poll_id == poll_id)
        .order_by(PollAnswerRow.answered_at, PollAnswerRow.participant_id)
    )
    return [NamedAnswer(pid, name, list(options), correct) for pid, name, options, correct in rows]


@dataclass(frozen=True, slots=True)
class QuizScore:
    correct: int
    answered: int


async def quiz_scores(tx: Transaction, *, session_id: uuid.UUID) -> dict[uuid.UUID, QuizScore]:
    """Per participant: right answers and answers given, over the session's named quizzes."""
    rows = await tx.orm.execute(
        select(
            PollAnswerRow.participant_id,
            func.count().filter(PollAnswerRow.correct.is_(True)),
            func.count(),
        )
        .join(PollRow, PollRow.id == PollAnswerRow.poll_id)
        .where(PollRow.session_id == session_id, PollRow.quiz.is_(True))
        .group_by(PollAnswerRow.participant_id)
    )
    return {pid: QuizScore(int(right), int(given)) for pid, right, given in rows}
