"""The records of the teaching tools (polls, hands, classroom state), node heartbeats and
idempotency keys, written and read through their db modules on both engines."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from liveclass.db import classroom, idempotency, nodes, polls
from liveclass.db.types import utcnow
from liveclass.domain.errors import InvalidState
from liveclass.domain.polls import PollDraft, PollStatus, validate_draft
from liveclass.services import Services
from tests.api.helpers import create_session, join, live_session
from tests.conftest import Platform

DRAFT = PollDraft(question="2 + 2?", options=("3", "4"), quiz=True, correct=(1,))


async def test_a_poll_moves_only_from_the_status_it_was_read_in(
    app: FastAPI, client: httpx.AsyncClient, platform: Platform
) -> None:
    services: Services = app.state.services
    session_id = uuid.UUID((await create_session(client, platform))["id"])
    async with services.db.transaction() as tx:
        draft = await polls.insert_poll(
            tx, session_id=session_id, spec=validate_draft(DRAFT), created_by="teacher-1"
        )
    async with services.db.transaction() as tx:
        opened = await polls.move(tx, poll=draft, to=PollStatus.OPEN)
    assert (opened.status, opened.closed_at) == (PollStatus.OPEN, None)
    assert opened.opened_at is not None
    # a copy read before the poll opened does not open it again, nor stamp it anew
    with pytest.raises(InvalidState, match="no longer draft"):
        async with services.db.transaction() as tx:
            await polls.move(tx, poll=draft, to=PollStatus.OPEN)
    with pytest.raises(InvalidState, match="open poll cannot become draft"):
        async with services.db.transaction() as tx:
            await polls.move(tx, poll=opened, to=PollStatus.DRAFT)
    async with services.db.reader() as r:
        stored = await polls.get_poll(r, session_id=session_id, poll_id=draft.id)
    assert stored == opened


async def test_a_named_answer_replaces_the_previous_one(
    app: FastAPI, client: httpx.AsyncClient, platform: Platform
) -> None:
    services: Services = app.state.services
    session = await live_session(client, platform)
    joined = (await join(client, platform, session["id"], "student-1")).json()
    session_id, pid = uuid.UUID(session["id"]), uuid.UUID(joined["participant_id"])
    async with services.db.transaction() as tx:
        poll = await polls.insert_poll(
            tx, session_id=session_id, spec=validate_draft(DRAFT), created_by="teacher-1"
        )
        await polls.save_answer(
            tx, poll_id=poll.id, participant_id=pid, options=["0"], correct=False
        )
    async with services.db.transaction() as tx:
        await polls.save_answer(
            tx, poll_id=poll.id, participant_id=pid, options=["1"], correct=True
        )
    async with services.db.reader() as r:
        answers = await polls.named_answers(r, poll_id=poll.id)
        counted = await polls.results(r, poll=poll)
        scores = await polls.quiz_scores(r, session_id=session_id)
    assert [(a.participant_id, a.options, a.correct) for a in answers] == [(pid, ["1"], True)]
    assert (counted.total_voters, counted.counts) == (1, {"0": 0, "1": 1})
    assert scores == {pid: polls.QuizScore(correct=1, answered=1)}


async def test_an_anonymous_voter_is_counted_once(
    app: FastAPI, client: httpx.AsyncClient, platform: Platform
) -> None:
    services: Services = app.state.services
    session_id = uuid.UUID((await create_session(client, platform))["id"])
    spec = validate_draft(PollDraft(question="Tea?", options=("yes", "no"), anonymous=True))
    async with services.db.transaction() as tx:
        poll = await polls.insert_poll(tx, session_id=session_id, spec=spec, created_by="t")
    for choice in (["0"], ["1"]):
        async with services.db.transaction() as tx:
            counted = await polls.add_ballot(tx, poll_id=poll.id, voter_key="k1", options=choice)
        assert counted is (choice == ["0"])
    async with services.db.reader() as r:
        result = await polls.results(r, poll=poll)
        keys = await polls.ballot_keys(r, poll_id=poll.id)
    assert (result.total_voters, result.counts, keys) == (1, {"0": 1, "1": 0}, {"k1"})


async def test_a_raised_hand_keeps_its_place_and_the_state_keeps_what_was_not_given(
    app: FastAPI, client: httpx.AsyncClient, platform: Platform
) -> None:
    services: Services = app.state.services
    session = await live_session(client, platform)
    joined = (await join(client, platform, session["id"], "student-1")).json()
    session_id, pid = uuid.UUID(session["id"]), uuid.UUID(joined["participant_id"])
    async with services.db.transaction() as tx:
        first = await classroom.raise_hand(tx, session_id=session_id, participant_id=pid)
    async with services.db.transaction() as tx:
        again = await classroom.raise_hand(tx, session_id=session_id, participant_id=pid)
        await classroom.save_state(tx, session_id=session_id, locks={"chat": True})
    async with services.db.transaction() as tx:
        await classroom.save_state(tx, session_id=session_id, timer={"seconds": 60})
    async with services.db.reader() as r:
        queue = await classroom.hand_queue(r, session_id=session_id)
        state = await classroom.get_state(r, session_id=session_id)
    assert again == first
    assert [(h.participant_id, h.raised_at) for h in queue] == [(pid, first)]
    assert state == classroom.ClassroomState({"chat": True}, {"seconds": 60})


async def test_a_node_found_dead_beats_anew(app: FastAPI) -> None:
    services: Services = app.state.services
    start = utcnow() - timedelta(minutes=1)
    async with services.db.transaction() as tx:
        assert await nodes.beat(tx, node_id="n1", at=start) is False  # a first beat
        assert await nodes.beat(tx, node_id="n1", at=start + timedelta(seconds=5)) is True
    async with services.db.reader() as r:
        [silent] = await nodes.silent_since(r, cutoff=start + timedelta(seconds=10), besides="n2")
    assert (silent.node_id, silent.last_seen_at) == ("n1", start + timedelta(seconds=5))
    async with services.db.transaction() as tx:
        assert await nodes.bury(tx, dead=silent, at=utcnow()) == []
        assert await nodes.bury(tx, dead=silent, at=utcnow()) is None  # buried once
    async with services.db.reader() as r:
        buried = await nodes.get_node(r, node_id="n1")
        assert await nodes.last_alive(r, node_id="n1") is None
    assert buried is not None and buried.dead_at is not None
    async with services.db.transaction() as tx:
        assert await nodes.beat(tx, node_id="n1", at=utcnow()) is False
    async with services.db.reader() as r:
        reborn = await nodes.get_node(r, node_id="n1")
    assert reborn is not None and reborn.dead_at is None


async def test_the_first_answer_kept_for_an_idempotency_key_stays(app: FastAPI) -> None:
    services: Services = app.state.services
    for status, body in ((201, '{"first": true}'), (200, '{"second": true}')):
        async with services.db.transaction() as tx:
            kept = await idempotency.remember(
                tx, key="k", user_id="u", request_hash="h", status_code=status, body=body
            )
        assert kept is (status == 201)
    async with services.db.reader() as r:
        stored = await idempotency.find(r, key="k", user_id="u")
        assert await idempotency.find(r, key="k", user_id="other") is None
    assert stored is not None
    assert (stored.status_code, stored.body) == (201, '{"first": true}')
