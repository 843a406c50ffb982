"""Polls, their named answers, and the ballots and counts of anonymous polls.

A poll leaves here as a frozen ``PollRecord``; its status changes only through ``move``
(the domain's transition check, then an UPDATE conditional on the status it moves from).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update

from liveclass.db.database import Reader, Statement, Tx
from liveclass.db.records import Build, values_of
from liveclass.db.tables import PARTICIPANTS, POLL_ANSWERS, POLL_BALLOTS, POLL_COUNTS, POLLS
from liveclass.db.types import utcnow
from liveclass.domain.errors import InvalidState
from liveclass.domain.polls import PollSpec, PollStatus, check_poll_transition


@dataclass(frozen=True, slots=True)
class PollRecord:
    """A poll or quiz; ``options`` are ``[{id, text}]``, ``correct`` option ids."""

    id: uuid.UUID
    session_id: uuid.UUID
    question: str
    options: list[dict[str, str]]
    multiple: bool
    anonymous: bool
    quiz: bool
    correct: list[str]
    status: PollStatus
    results_visible: bool
    created_by: str
    created_at: datetime
    opened_at: datetime | None
    closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class AnswerRecord:
    """One person's answer to a named poll."""

    poll_id: uuid.UUID
    participant_id: uuid.UUID
    options: list[str]
    correct: bool | None
    answered_at: datetime


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


@dataclass(frozen=True, slots=True)
class QuizScore:
    correct: int
    answered: int


_poll = Build(PollRecord)
_NAMES = tuple(POLLS.c.keys())
_INSERT_POLL = Statement.of(insert(POLLS), keys=_NAMES)
_INSERT_COUNT = Statement.of(insert(POLL_COUNTS), keys=("poll_id", "option_id", "votes"))
_NEW_ANSWER = Statement.insert_new(
    POLL_ANSWERS, keys=("poll_id", "participant_id", "options", "correct", "answered_at")
)
_NEW_BALLOT = Statement.insert_new(POLL_BALLOTS, keys=("poll_id", "voter_key"))


# -- polls -------------------------------------------------------------------------------------


async def insert_poll(
    tx: Tx, *, session_id: uuid.UUID, spec: PollSpec, created_by: str
) -> PollRecord:
    """A new draft; an anonymous one with a zero count per option."""
    poll = PollRecord(
        id=uuid.uuid4(),
        session_id=session_id,
        question=spec.question,
        options=[{"id": o.id, "text": o.text} for o in spec.options],
        multiple=spec.multiple,
        anonymous=spec.anonymous,
        quiz=spec.quiz,
        correct=list(spec.correct),
        status=PollStatus.DRAFT,
        results_visible=spec.results_visible,
        created_by=created_by,
        created_at=utcnow(),
        opened_at=None,
        closed_at=None,
    )
    await tx.run(_INSERT_POLL, values_of(poll))
    if spec.anonymous:
        for option in spec.options:
            await tx.run(_INSERT_COUNT, {"poll_id": poll.id, "option_id": option.id, "votes": 0})
    return poll


async def get_poll(
    db: Reader, *, session_id: uuid.UUID, poll_id: uuid.UUID, for_update: bool = False
) -> PollRecord | None:
    query = select(POLLS).where(POLLS.c.id == poll_id, POLLS.c.session_id == session_id)
    if for_update:
        query = query.with_for_update()
    return _poll.maybe(await db.one(query))


async def session_polls(db: Reader, *, session_id: uuid.UUID) -> list[PollRecord]:
    query = (
        select(POLLS)
        .where(POLLS.c.session_id == session_id)
        .order_by(POLLS.c.created_at, POLLS.c.id)
    )
    return [_poll(row) for row in await db.all(query)]


async def has_polls(db: Reader, *, session_id: uuid.UUID) -> bool:
    found = await db.value(select(POLLS.c.id).where(POLLS.c.session_id == session_id).limit(1))
    return found is not None


async def move(tx: Tx, *, poll: PollRecord, to: PollStatus) -> PollRecord:
    """Move ``poll`` to ``to`` (``draft -> open -> closed``) and stamp when; the poll as it
    is now. Refused when the step is not legal, or when the poll left ``poll.status``
    since it was read."""
    check_poll_transition(poll.status, to)
    stamp = "opened_at" if to is PollStatus.OPEN else "closed_at"
    changes: dict[str, Any] = {"status": to.value, stamp: utcnow()}
    moved = await tx.run(
        update(POLLS)
        .where(POLLS.c.id == poll.id, POLLS.c.status == poll.status.value)
        .values(changes)
    )
    if not moved:
        raise InvalidState(f"The poll is no longer {poll.status.value}; it cannot become {to}.")
    return replace(poll, status=to, **{stamp: changes[stamp]})


async def show_results(tx: Tx, *, poll: PollRecord, visible: bool) -> PollRecord:
    """Publish (or hide again) the poll's results to the students."""
    await tx.run(update(POLLS).where(POLLS.c.id == poll.id).values(results_visible=visible))
    return replace(poll, results_visible=visible)


# -- answers -----------------------------------------------------------------------------------


async def save_answer(
    tx: Tx,
    *,
    poll_id: uuid.UUID,
    participant_id: uuid.UUID,
    options: Sequence[str],
    correct: bool | None,
) -> None:
    """A named answer, replacing the participant's previous one."""
    answer = AnswerRecord(poll_id, participant_id, list(options), correct, utcnow())
    if await tx.run(_NEW_ANSWER, values_of(answer)):
        return
    await tx.run(
        update(POLL_ANSWERS)
        .where(POLL_ANSWERS.c.poll_id == poll_id, POLL_ANSWERS.c.participant_id == participant_id)
        .values(options=answer.options, correct=correct, answered_at=answer.answered_at)
    )


async def add_ballot(tx: Tx, *, poll_id: uuid.UUID, voter_key: str, options: Sequence[str]) -> bool:
    """Count an anonymous vote; False when this voter key has voted already."""
    if not await tx.run(_NEW_BALLOT, {"poll_id": poll_id, "voter_key": voter_key}):
        return False
    # one statement per vote: concurrent votes add up without reading the counts first
    await tx.run(
        update(POLL_COUNTS)
        .where(POLL_COUNTS.c.poll_id == poll_id, POLL_COUNTS.c.option_id.in_(list(options)))
        .values(votes=POLL_COUNTS.c.votes + 1)
    )
    return True


async def ballot_keys(db: Reader, *, poll_id: uuid.UUID) -> set[str]:
    rows = await db.all(select(POLL_BALLOTS.c.voter_key).where(POLL_BALLOTS.c.poll_id == poll_id))
    return {row["voter_key"] for row in rows}


async def results(db: Reader, *, poll: PollRecord) -> Results:
    counts = {o["id"]: 0 for o in poll.options}
    if poll.anonymous:
        rows = await db.all(
            select(POLL_COUNTS.c.option_id, POLL_COUNTS.c.votes).where(
                POLL_COUNTS.c.poll_id == poll.id
            )
        )
        counts.update({row["option_id"]: int(row["votes"]) for row in rows})
        voters = await db.value(
            select(func.count()).select_from(POLL_BALLOTS).where(POLL_BALLOTS.c.poll_id == poll.id)
        )
        return Results(int(voters or 0), counts)
    chosen = await db.all(select(POLL_ANSWERS.c.options).where(POLL_ANSWERS.c.poll_id == poll.id))
    for row in chosen:
        for option in row["options"]:
            counts[option] = counts.get(option, 0) + 1
    return Results(len(chosen), counts)


async def named_answers(db: Reader, *, poll_id: uuid.UUID) -> list[NamedAnswer]:
    rows = await db.all(
        select(
            POLL_ANSWERS.c.participant_id,
            PARTICIPANTS.c.name,
            POLL_ANSWERS.c.options,
            POLL_ANSWERS.c.correct,
        )
        .join(PARTICIPANTS, PARTICIPANTS.c.id == POLL_ANSWERS.c.participant_id)
        .where(POLL_ANSWERS.c.poll_id == poll_id)
        .order_by(POLL_ANSWERS.c.answered_at, POLL_ANSWERS.c.participant_id)
    )
    return [
        NamedAnswer(row["participant_id"], row["name"], list(row["options"]), row["correct"])
        for row in rows
    ]


async def quiz_scores(db: Reader, *, session_id: uuid.UUID) -> dict[uuid.UUID, QuizScore]:
    """Per participant: right answers and answers given, over the session's named quizzes."""
    rows = await db.all(
        select(
            POLL_ANSWERS.c.participant_id,
            func.count().filter(POLL_ANSWERS.c.correct.is_(True)).label("right"),
            func.count().label("given"),
        )
        .join(POLLS, POLLS.c.id == POLL_ANSWERS.c.poll_id)
        .where(POLLS.c.session_id == session_id, POLLS.c.quiz.is_(True))
        .group_by(POLL_ANSWERS.c.participant_id)
    )
    return {row["participant_id"]: QuizScore(int(row["right"]), int(row["given"])) for row in rows}
