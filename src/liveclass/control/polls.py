"""Poll use cases, shared by the REST API and the classroom socket.

A poll is shown as one dict (``poll_state``: everything, as moderators see it) and cut down
per recipient by ``domain.poll_views.Rendering``. After each change the whole state goes to
the room (``RoomEvents.poll_changed``), so every node can render it for its own sockets.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from liveclass.db import outbox
from liveclass.db import polls as queries
from liveclass.db import seats as participant_queries
from liveclass.db import sessions as session_queries
from liveclass.db.database import Reader, Tx
from liveclass.db.polls import PollRecord
from liveclass.domain.access import require_moderator, require_visible, role_in
from liveclass.domain.actors import Actor
from liveclass.domain.errors import Conflict, InvalidState, NotAllowed, NotFound
from liveclass.domain.lifecycle import SessionStatus
from liveclass.domain.participants import ParticipantStatus
from liveclass.domain.poll_views import Poll, Viewer, shown_to
from liveclass.domain.poll_views import for_audience as render_for
from liveclass.domain.polls import (
    PollDraft,
    PollOption,
    PollStatus,
    check_answer,
    is_correct,
    validate_draft,
    voter_key,
)
from liveclass.domain.roles import Action, role_allows
from liveclass.services import Services


def for_audience(services: Services, state: dict[str, Any], viewer: Viewer) -> dict[str, Any]:
    """The poll of ``state`` as ``viewer`` may see it, with their own answer as ``you``."""
    return render_for(_secret(services), state, viewer)


async def poll_state(tx: Reader, poll: PollRecord) -> dict[str, Any]:
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
        "status": poll.status.value,
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
            poll = await queries.move(tx, poll=poll, to=PollStatus.OPEN)
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
        poll = await queries.move(tx, poll=await _poll(tx, session_id, poll_id), to=target)
        state = await poll_state(tx, poll)
        if target is PollStatus.CLOSED:
            await outbox.add(
                tx,
                event_type="poll.closed",
                session_id=session_id,
                payload=_closed_event(session_id, state),
            )
    await services.room_events.poll_changed(session_id, state, everyone=True)


async def close_open_polls(tx: Tx, session_id: uuid.UUID) -> None:
    """The class is ending: its open polls close with it, each with its ``poll.closed``."""
    for poll in await queries.session_polls(tx, session_id=session_id):
        if poll.status != PollStatus.OPEN:
            continue
        closed = await queries.move(tx, poll=poll, to=PollStatus.CLOSED)
        state = await poll_state(tx, closed)
        await outbox.add(
            tx,
            event_type="poll.closed",
            session_id=session_id,
            payload=_closed_event(session_id, state),
        )


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
        poll = await queries.show_results(tx, poll=poll, visible=visible)
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
            raise InvalidState(
                f"This poll is {poll.status.value}; only an open poll takes answers."
            )
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


async def _poll(tx: Tx, session_id: uuid.UUID, poll_id: uuid.UUID) -> PollRecord:
    poll = await queries.get_poll(tx, session_id=session_id, poll_id=poll_id, for_update=True)
    if poll is None:
        raise NotFound("No such poll in this session.", code="POLL_NOT_FOUND")
    return poll


# -- reading -----------------------------------------------------------------------------------


async def welcome_polls(
    services: Services, session_id: uuid.UUID, viewer: Viewer
) -> list[dict[str, Any]]:
    """The polls a socket's ``welcome`` lists (``shown_to``), each as ``viewer`` may see it
    with their own answer."""
    async with services.db.transaction() as tx:
        polls = await queries.session_polls(tx, session_id=session_id)
        states = [
            await poll_state(tx, p)
            for p in polls
            if shown_to(p.status, p.results_visible, moderator=viewer.moderator)
        ]
    return [for_audience(services, state, viewer) for state in states]


def _listed(poll: PollRecord, viewer: Viewer) -> bool:
    # Over REST (also after the class) everyone may look back at every poll that ran; the
    # results stay hidden as ``for_audience`` says. Drafts are the moderators'.
    return viewer.moderator or poll.status != PollStatus.DRAFT


async def rest_viewer(tx: Tx, actor: Actor, session_id: uuid.UUID) -> Viewer:
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


async def require_poll_runner(tx: Tx, actor: Actor, session_id: uuid.UUID) -> None:
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
