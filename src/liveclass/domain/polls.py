"""Polls and quizzes: their states, what a valid poll and a valid answer are, and scoring.

A poll moves ``draft -> open -> closed`` and nothing else; a closed poll is final. An
anonymous poll keeps no voter identity: only an opaque ``voter_key`` (an HMAC of the poll and
the participant under the server's secret) that makes one vote each enforceable.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from liveclass.domain.errors import Invalid, InvalidState

MAX_QUESTION_CHARS = 300
MAX_OPTION_CHARS = 200
MIN_OPTIONS = 2
MAX_OPTIONS = 10


class PollStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


_NEXT: dict[PollStatus, PollStatus] = {
    PollStatus.DRAFT: PollStatus.OPEN,
    PollStatus.OPEN: PollStatus.CLOSED,
}


def check_poll_transition(current: PollStatus, target: PollStatus) -> None:
    """Raise ``InvalidState`` unless ``current -> target`` is the one legal next step."""
    if _NEXT.get(current) is not target:
        raise InvalidState(f"A {current.value} poll cannot become {target.value}.")


@dataclass(frozen=True, slots=True)
class PollOption:
    id: str  # "0".."9": the option's position, stable for the poll's life
    text: str


@dataclass(frozen=True, slots=True)
class PollDraft:
    """A poll as a moderator asks for it: option texts, correct answers by index."""

    question: str
    options: tuple[str, ...]
    multiple: bool = False
    anonymous: bool = False
    quiz: bool = False
    correct: tuple[int, ...] = ()
    results_visible: bool = False


@dataclass(frozen=True, slots=True)
class PollSpec:
    """A validated draft: trimmed texts, options with their ids, correct option ids."""

    question: str
    options: tuple[PollOption, ...]
    multiple: bool
    anonymous: bool
    quiz: bool
    correct: tuple[str, ...]
    results_visible: bool


def validate_draft(draft: PollDraft) -> PollSpec:
    """The draft as a poll, or ``Invalid`` naming the field that is wrong."""
    question = draft.question.strip()
    if not 1 <= len(question) <= MAX_QUESTION_CHARS or "\x00" in question:
        raise Invalid(f"question must have 1-{MAX_QUESTION_CHARS} characters.", field="question")
    if not MIN_OPTIONS <= len(draft.options) <= MAX_OPTIONS:
        raise Invalid(f"A poll has {MIN_OPTIONS}-{MAX_OPTIONS} options.", field="options")
    texts = tuple(text.strip() for text in draft.options)
    if any(not 1 <= len(t) <= MAX_OPTION_CHARS or "\x00" in t for t in texts):
        raise Invalid(f"Each option must have 1-{MAX_OPTION_CHARS} characters.", field="options")
    options = tuple(PollOption(str(i), t) for i, t in enumerate(texts))
    return PollSpec(
        question=question,
        options=options,
        multiple=draft.multiple,
        anonymous=draft.anonymous,
        quiz=draft.quiz,
        correct=_correct_ids(draft, len(options)),
        results_visible=draft.results_visible,
    )


def _correct_ids(draft: PollDraft, count: int) -> tuple[str, ...]:
    if not draft.quiz:
        if draft.correct:
            raise Invalid("Only a quiz has correct answers.", field="correct")
        return ()
    picked = sorted(set(draft.correct))
    if not picked or len(picked) != len(draft.correct):
        raise Invalid("A quiz names its correct options once each.", field="correct")
    if any(not 0 <= i < count for i in picked):
        raise Invalid("correct must be indexes of the options.", field="correct")
    if not draft.multiple and len(picked) != 1:
        raise Invalid("A single-choice quiz has exactly one correct option.", field="correct")
    return tuple(str(i) for i in picked)


def check_answer(
    options: Sequence[PollOption], *, multiple: bool, chosen: Sequence[str]
) -> tuple[str, ...]:
    """The chosen option ids in option order, or ``Invalid`` (code ``INVALID_ANSWER``)."""
    ids = {o.id for o in options}
    if not chosen or len(set(chosen)) != len(chosen) or not set(chosen) <= ids:
        raise Invalid("Choose options of this poll, each once.", code="INVALID_ANSWER")
    if not multiple and len(chosen) != 1:
        raise Invalid("This poll takes exactly one option.", code="INVALID_ANSWER")
    return tuple(o.id for o in options if o.id in chosen)


def is_correct(correct: Sequence[str], chosen: Sequence[str]) -> bool:
    """A quiz answer is right when it picks exactly the correct options."""
    return set(correct) == set(chosen)


def shows_results(*, moderator: bool, results_visible: bool) -> bool:
    return moderator or results_visible


def shows_correct(*, moderator: bool, status: PollStatus, results_visible: bool) -> bool:
    """The correct options are the moderators' until the poll closed with results shown."""
    return moderator or (status is PollStatus.CLOSED and results_visible)


def voter_key(secret: str, poll_id: uuid.UUID, participant_id: uuid.UUID) -> str:
    """An anonymous voter's key: one per person and poll, and not their id."""
    message = f"poll-voter:{poll_id}:{participant_id}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
