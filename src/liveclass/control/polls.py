"""Poll use cases, shared by the REST API and the classroom socket.

A poll is shown as one dict (``poll_fields``: everything, as moderators see it) and cut down
per recipient by ``Rendering``. After each change the whole state goes to the room
(``RoomEvents.poll_changed``), so every node can render it for its own sockets.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from liveclass.db import outbox
from liveclass.db import polls as queries
from liveclass.db import seats as participant_queries
from liveclass.db import sessions as session_queries
from liveclass.db.database import Transaction
from liveclass.db.tables import PollRow
from liveclass.db.types import utcnow
from liveclass.domain.access import require_moderator, require_visible, role_in
from liveclass.domain.actors import Actor
from liveclass.domain.errors import Conflict, InvalidState, NotAllowed, NotFound
from liveclass.domain.lifecycle import SessionStatus
from liveclass.domain.participants import ParticipantStatus
from liveclass.domain.polls import (
    PollDraft,
    PollOption,
    PollStatus,
    check_answer,
    check_poll_transition,
    is_correct,
    shows_correct,
    shows_results,
    validate_draft,
    voter_key,
)
from liveclass.domain.roles import Action, role_allows
from liveclass.services import Services

Poll = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who a poll is rendered for."""

    moderator: bool
    participant_id: uuid.UUID | None = None


# -- rendering ---------------------------------------------------------------------------------


class Rendering:
    """One poll state (``poll_state``) as each recipient may see it: the two role views and the
    lookup of answers built once, however many sockets it goes to."""

    def __init__(self, services: Services, state: dict[str, Any]) -> None:
        self._services = services
        self._full: Poll = state["poll"]
        self._answers = {a["participant_id"]: a["options"] for a in self._full["answers"] or ()}
        self._ballots = frozenset(state.get("ballots", ()))
        self._echo: dict[str, Any] = state.get("answered") or {}
        self._student = self._student_view()

    def view(self, *, moderator: bool) -> Poll:
        return self._full if moderator else self._student

    def _student_view(self) -> Poll:
        full, view = self._full, dict(self._full)
        view["answers"] = None
        if not shows_results(moderator=False, results_visible=full["results_visible"]):
            view["results"] = None
        status = PollStatus(full["status"])
        if not shows_correct(
            moderator=False, status=status, results_visible=full["results_visible"]
        ):
            view["correct"] = None
        return view

    def you(self, participant_id: uuid.UUID | None) -> dict[str, Any] | None:
        """The recipient's own answer, or None when they have not answered."""
        if participant_id is None:
            return None
        pid = str(participant_id)
        if not self._full["anonymous"]:
            options = self._answers.get(pid)
            return None if options is None else {"options": options}
        key = voter_key(_secret(self._services), uuid.UUID(self._full["id"]), participant_id)
        if key not in self._ballots:
            return None
        # the server keeps no anonymous choice; only its sender hears it back, once
        mine = self._echo.get("participant_id") == pid
        return {"options": self._echo.get("options") if mine else None}

    def message(self, viewer: Viewer) -> dict[str, Any]:
        """``{poll, you}`` for ``viewer``."""
        return {
            "poll": self.view(moderator=viewer.moderator),
            "you": self.you(viewer.participant_id),
        }


def for_audience(services: Services, state: dict[str, Any], viewer: Viewer) -> dict[str, Any]:
    """The poll of ``state`` as ``viewer`` may see it, with their own answer as ``you``."""
    return Rendering(services, state).message(viewer)


async def poll_state(tx: Transaction, poll: PollRow) -> dict[str, Any]:
    """Everything about a poll that any recipient may be shown."""
    results = await queries.results(tx, poll=poll)
    answers = None
    ballots: list[str] = []
    if poll.anonymous:
        ballots = sorted(await queries.ballot_keys(tx, poll_id=poll.id))
    else:
        answers = [
            {
                "participant_id": str(a.participant_id),
                "name": a.name,
                "options": a.options,
                "correct": a.correct,
            }
            for a in await queries.named_answers(tx, poll_id=poll.id)
        ]
    full: Poll = {
        "id": str(poll.id),
        "question": poll.question,
        "options": poll.options,
        "multiple": poll.multiple,
        "anonymous": poll.anonymous,
        "quiz": poll.quiz,
        "correct": poll.correct,
        "status": poll.status,
        "results_visible": poll.results_visible,
        "created_at": poll.created_at.isoformat(),
        "opened_at": poll.opened_at.isoformat() if poll.opened_at else None,
        "closed_at": poll.closed_at.isoformat() if poll.closed_at else None,
        "results": {"total_voters": results.total_voters, "counts": results.counts},
        "answers": answers,
    }
    return {"poll": full, "ballots": ballots}


def _secret(services: Services) -> str:
    secret = services.settings.secret_key
    assert secret is not None  # Settings refuses to load without it
    return secret.get_secret_value()


# -- use cases ---------------------------------------------------------------------------------


async def create(
    services: Services,
    session_id: uuid.UUID,
    draft: PollDraft,
    *,
    created_by: str,
    open_now: bool = False,
) -> dict[str, Any]:
    """A new poll (a draft, or open at once); its state."""
    spec = validate_draft(draft)
    async with services.db.transaction() as tx:
        session = await session_queries.get_session(tx, session_id=session_id)
        if session is None:
            raise NotFound("No such session.", code="SESSION_NOT_FOUND")
        if session.status not in (SessionStatus.SCHEDULED, SessionStatus.LIVE):
            raise InvalidState(f"A {session.status} session takes no new polls.")
        poll = await queries.insert_poll(
            tx, session_id=session_id, spec=spec, created_by=created_by
        )
        if open_now:
            _move(poll, PollStatus.OPEN)
        state = await poll_state(tx, poll)
    await services.room_events.poll_changed(session_id, state, everyone=open_now)
    return state


async def open_poll(services: Services, session_id: uuid.UUID, poll_id: uuid.UUID) -> None:
    await _step(services, session_id, poll_id, PollStatus.OPEN)


async def close_poll(services: Services, session_id: uuid.UUID, poll_id: uuid.UUID) -> None:
    await _step(services, session_id, poll_id, PollStatus.CLOSED)


async def _step(
    services: Services, session_id: uuid.UUID, poll_id: uuid.UUID, target: PollStatus
) -> None:
    async with services.db.transaction() as tx:
        poll = await _poll(tx, session_id, poll_id)
        _move(poll, target)
        state = await poll_state(tx, poll)
        if target is PollStatus.CLOSED:
            outbox.record_event(
                tx, "poll.closed", session_id=session_id, payload=_closed_event(session_id, state)
            )
    await services.room_events.poll_changed(session_id, state, everyone=True)


async def close_open_polls(tx: Transaction, session_id: uuid.UUID) -> None:
    """The class is ending: its open polls close with it, each with its ``poll.closed``."""
    for poll in await queries.session_polls(tx, session_id=session_id):
        if poll.status != PollStatus.OPEN:
            continue
        _move(poll, PollStatus.CLOSED)
        state = await poll_state(tx, poll)
        outbox.record_event(
            tx, "poll.closed", session_id=session_id, payload=_closed_event(session_id, state)
        )


def _move(poll: PollRow, target: PollStatus) -> None:
    check_poll_transition(PollStatus(poll.status), target)
    poll.status = target.value
    if target is PollStatus.OPEN:
        poll.opened_at = utcnow()
    else:
        poll.closed_at = utcnow()


def _closed_event(session_id: uuid.UUID, state: dict[str, Any]) -> dict[str, Any]:
    poll = state["poll"]
    return {
        "session_id": str(session_id),
        "poll_id": poll["id"],
        "question": poll["question"],
        "counts": poll["results"]["counts"],
        "total_voters": poll["results"]["total_voters"],
        "quiz": poll["quiz"],
        "correct": poll["correct"] if poll["quiz"] else None,
    }


async def publish(
    services: Services, session_id: uuid.UUID, poll_id: uuid.UUID, *, visible: bool
) -> None:
    async with services.db.transaction() as tx:
        poll = await _poll(tx, session_id, poll_id)
        poll.results_visible = visible
        state = await poll_state(tx, poll)
    await services.room_events.poll_changed(session_id, state, everyone=True)


async def answer(
    services: Services,
    session_id: uuid.UUID,
    poll_id: uuid.UUID,
    *,
    participant_id: uuid.UUID,
    chosen: Sequence[str],
) -> None:
    """Record an answer (a named one replaces the previous; an anonymous one is final)."""
    async with services.db.transaction() as tx:
        poll = await _poll(tx, session_id, poll_id)
        if poll.status != PollStatus.OPEN:
            raise InvalidState(f"This poll is {poll.status}; only an open poll takes answers.")
        options = [PollOption(o["id"], o["text"]) for o in poll.options]
        picked = check_answer(options, multiple=poll.multiple, chosen=chosen)
        if poll.anonymous:
            key = voter_key(_secret(services), poll.id, participant_id)
            if not await queries.add_ballot(tx, poll_id=poll.id, voter_key=key, options=picked):
                raise Conflict("You answered this anonymous poll already.", code="ALREADY_ANSWERED")
        else:
            right = is_correct(poll.correct, picked) if poll.quiz else None
            await queries.save_answer(
                tx, poll_id=poll.id, participant_id=participant_id, options=picked, correct=right
            )
        state = await poll_state(tx, poll)
    state["answered"] = {"participant_id": str(participant_id), "options": list(picked)}
    await services.room_events.poll_changed(session_id, state, everyone=False)


async def _poll(tx: Transaction, session_id: uuid.UUID, poll_id: uuid.UUID) -> PollRow:
    poll = await queries.get_poll(tx, session_id=session_id, poll_id=poll_id, for_update=True)
    if poll is None:
        raise NotFound("No such poll in this session.", code="POLL_NOT_FOUND")
    return poll


# -- reading -----------------------------------------------------------------------------------


def shown_to(status: str, results_visible: bool, *, moderator: bool) -> bool:
    """Which polls a participant is shown (welcome, lists): moderators see them all; others
    the open ones and the closed ones whose results are out."""
    if moderator:
        return True
    return status == PollStatus.OPEN or (status == PollStatus.CLOSED and results_visible)


async def welcome_states(
    tx: Transaction, session_id: uuid.UUID, *, moderator: bool
) -> list[dict[str, Any]]:
    """The polls a socket's ``welcome`` lists (``shown_to``)."""
    polls = await queries.session_polls(tx, session_id=session_id)
    return [
        await poll_state(tx, p)
        for p in polls
        if shown_to(p.status, p.results_visible, moderator=moderator)
    ]


def _listed(poll: PollRow, viewer: Viewer) -> bool:
    # Over REST (also after the class) everyone may look back at every poll that ran; the
    # results stay hidden as ``for_audience`` says. Drafts are the moderators'.
    return viewer.moderator or poll.status != PollStatus.DRAFT


async def rest_viewer(tx: Transaction, actor: Actor, session_id: uuid.UUID) -> Viewer:
    """The REST caller as a poll viewer; a stranger to a private session, or someone kicked,
    gets the answer of a missing session or a refusal."""
    session = await session_queries.get_session(tx, session_id=session_id)
    me = (
        await participant_queries.get_by_user(tx, session_id=session_id, user_id=actor.user_id)
        if session
        else None
    )
    session = require_visible(actor, session, me)
    if me is not None and me.status == ParticipantStatus.KICKED:
        raise NotAllowed("You were removed from this session.", code="KICKED")
    role = role_in(actor, session, me)
    moderator = role is not None and role_allows(role, Action.RUN_POLLS)
    return Viewer(moderator, me.id if me else None)


async def require_poll_runner(tx: Transaction, actor: Actor, session_id: uuid.UUID) -> None:
    session = await session_queries.get_session(tx, session_id=session_id)
    me = (
        await participant_queries.get_by_user(tx, session_id=session_id, user_id=actor.user_id)
        if session
        else None
    )
    session = require_visible(actor, session, me)
    require_moderator(actor, session, me)


async def list_polls(services: Services, actor: Actor, session_id: uuid.UUID) -> list[Poll]:
    async with services.db.transaction() as tx:
        viewer = await rest_viewer(tx, actor, session_id)
        polls = await queries.session_polls(tx, session_id=session_id)
        states = [await poll_state(tx, p) for p in polls if _listed(p, viewer)]
    return [for_audience(services, state, viewer) for state in states]


async def get_poll(
    services: Services, actor: Actor, session_id: uuid.UUID, poll_id: uuid.UUID
) -> Poll:
    async with services.db.transaction() as tx:
        viewer = await rest_viewer(tx, actor, session_id)
        poll = await queries.get_poll(tx, session_id=session_id, poll_id=poll_id)
        if poll is None or not _listed(poll, viewer):
            raise NotFound("No such poll in this session.", code="POLL_NOT_FOUND")
        state = await poll_state(tx, poll)
    return for_audience(services, state, viewer)


async def create_by(
    services: Services, actor: Actor, session_id: uuid.UUID, draft: PollDraft
) -> dict[str, Any]:
    """The REST create: moderators of the session (the host, admins, joined co-hosts)."""
    async with services.db.transaction() as tx:
        await require_poll_runner(tx, actor, session_id)
    state = await create(services, session_id, draft, created_by=actor.user_id)
    return for_audience(services, state, Viewer(moderator=True))
