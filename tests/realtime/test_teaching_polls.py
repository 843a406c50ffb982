"""Polls and quizzes over the classroom socket: who sees what, one answer each, and the
stored state that a reconnect, a late joiner and a restarted server all get back."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import MetaData, select
from sqlalchemy.ext.asyncio import create_async_engine

from liveclass.config import Settings
from tests.conftest import Platform
from tests.realtime.conftest import Classroom, Node, Peer
from tests.realtime.server import serve


def _poll(status: str, **fields: Any) -> Any:
    def match(m: dict[str, Any]) -> bool:
        if m.get("type") != "poll" or m["poll"]["status"] != status:
            return False
        return all(m["poll"].get(k) == v for k, v in fields.items())

    return match


def _counts(total: int, counts: dict[str, int]) -> Any:
    def match(m: dict[str, Any]) -> bool:
        results = m.get("poll", {}).get("results") if m.get("type") == "poll" else None
        return results == {"total_voters": total, "counts": counts}

    return match


async def _error(peer: Peer, message: dict[str, Any]) -> dict[str, Any]:
    peer.received.clear()
    await peer.send(message)
    return await peer.wait_type("error")


QUIZ = {
    "type": "poll_create",
    "question": "2 + 2 = ?",
    "options": ["3", "4", "5"],
    "quiz": True,
    "correct": [1],
}


async def test_a_named_quiz_is_counted_scored_and_shown_by_the_rules(
    classroom: Classroom,
) -> None:
    await classroom.create()
    host = await classroom.enter()
    await classroom.start()
    ada = await classroom.enter("student-1", "Ada")
    bob = await classroom.enter("student-2", "Bob")

    await host.send(QUIZ)
    draft = (await host.wait_for(_poll("draft")))["poll"]
    poll_id = draft["id"]
    assert draft["correct"] == ["1"] and draft["options"][1] == {"id": "1", "text": "4"}
    await host.send({"type": "poll_open", "poll_id": poll_id})
    opened = await ada.wait_for(_poll("open"))
    # a student sees neither live counts nor the right answer, and has not answered yet
    assert (opened["poll"]["results"], opened["poll"]["correct"], opened["you"]) == (
        None,
        None,
        None,
    )
    assert not [m for m in ada.of_type("poll") if m["poll"]["status"] == "draft"]

    await ada.send({"type": "poll_answer", "poll_id": poll_id, "options": ["1"]})
    await bob.send({"type": "poll_answer", "poll_id": poll_id, "options": ["1"]})
    await host.wait_for(_counts(2, {"0": 0, "1": 2, "2": 0}))
    await bob.send({"type": "poll_answer", "poll_id": poll_id, "options": ["2"]})  # changes
    live = await host.wait_for(_counts(2, {"0": 0, "1": 1, "2": 1}))
    assert {a["name"]: a["correct"] for a in live["poll"]["answers"]} == {
        "Ada": True,
        "Bob": False,
    }
    mine = await bob.wait_for(lambda m: m.get("type") == "poll" and m["you"] == {"options": ["2"]})
    assert mine["poll"]["results"] is None and mine["poll"]["answers"] is None

    two = {"type": "poll_answer", "poll_id": poll_id, "options": ["0", "1"]}
    assert (await _error(ada, two))["code"] == "INVALID_ANSWER"  # single choice
    unknown = {"type": "poll_answer", "poll_id": poll_id, "options": ["7"]}
    assert (await _error(ada, unknown))["code"] == "INVALID_ANSWER"
    student_runs = {"type": "poll_close", "poll_id": poll_id}
    assert (await _error(ada, student_runs))["code"] == "FORBIDDEN"

    await host.send({"type": "poll_close", "poll_id": poll_id})
    closed = await ada.wait_for(_poll("closed"))
    assert closed["poll"]["results"] is None and closed["poll"]["correct"] is None
    late = {"type": "poll_answer", "poll_id": poll_id, "options": ["1"]}
    assert (await _error(bob, late))["code"] == "INVALID_STATE"
    reopen = {"type": "poll_open", "poll_id": poll_id}
    assert (await _error(host, reopen))["code"] == "INVALID_STATE"  # closed is final

    await host.send({"type": "poll_publish", "poll_id": poll_id, "visible": True})
    shown = await ada.wait_for(_poll("closed", results_visible=True))
    assert shown["poll"]["results"] == {"total_voters": 2, "counts": {"0": 0, "1": 1, "2": 1}}
    assert shown["poll"]["correct"] == ["1"] and shown["you"] == {"options": ["1"]}
    assert shown["poll"]["answers"] is None  # per-person answers stay the moderators'

    people = await classroom.api.get(
        f"/api/v1/sessions/{classroom.session_id}/participants",
        headers={"Authorization": f"Bearer {classroom.host_token}"},
    )
    scores = {p["name"]: p["quiz_score"] for p in people.json()["items"]}
    assert scores["Ada"] == {"correct": 1, "answered": 1}
    assert scores["Bob"] == {"correct": 0, "answered": 1}


async def test_a_bad_poll_is_refused_at_the_edge(classroom: Classroom) -> None:
    await classroom.create()
    host = await classroom.enter()
    await classroom.start()
    for bad in (
        {**QUIZ, "options": ["only one"]},
        {**QUIZ, "correct": []},  # a quiz needs its right answer
        {**QUIZ, "correct": [0, 1]},  # single choice: exactly one
        {**QUIZ, "correct": [5]},
        {**QUIZ, "question": "   "},
        {**QUIZ, "options": "3,4"},
    ):
        error = await _error(host, bad)
        assert (error["code"], error["about"]) == ("BAD_MESSAGE", "poll_create"), bad
    assert not host.of_type("poll")


async def test_an_anonymous_poll_stores_no_voter(classroom: Classroom) -> None:
    await classroom.create()
    host = await classroom.enter()
    await classroom.start()
    ada = await classroom.enter("student-1", "Ada")
    await host.send(
        {
            "type": "poll_create",
            "question": "How hard was it?",
            "options": ["easy", "ok", "hard"],
            "multiple": True,
            "anonymous": True,
            "open": True,
        }
    )
    poll_id = (await ada.wait_for(_poll("open")))["poll"]["id"]
    await ada.send({"type": "poll_answer", "poll_id": poll_id, "options": ["1", "2"]})
    counted = await host.wait_for(_counts(1, {"0": 0, "1": 1, "2": 1}))
    assert counted["poll"]["answers"] is None  # no per-person data, not even for the host
    again = {"type": "poll_answer", "poll_id": poll_id, "options": ["0"]}
    assert (await _error(ada, again))["code"] == "ALREADY_ANSWERED"

    stored = await _poll_rows(classroom.node.settings.database_url)
    assert stored["poll_answers"] == []
    assert len(stored["poll_ballots"]) == 1
    text = repr(stored)
    for identity in (ada.pid, ada.pid.replace("-", ""), "student-1", "Ada"):
        assert identity not in text
    # and yet the welcome after a reconnect knows Ada has voted (by her key, not her id)
    await ada.close()
    back = await classroom.open(ada.join)
    (listed,) = (await back.wait_type("welcome"))["polls"]
    assert listed["you"] == {"options": None}


async def _poll_rows(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of the poll tables, every column."""
    engine = create_async_engine(url)
    meta = MetaData()
    names = ("polls", "poll_answers", "poll_ballots", "poll_counts")
    try:
        async with engine.connect() as conn:
            await conn.run_sync(lambda c: meta.reflect(c, only=names))
            return {
                name: [dict(r._mapping) for r in await conn.execute(select(meta.tables[name]))]
                for name in names
            }
    finally:
        await engine.dispose()


async def test_polls_come_back_after_a_reconnect_and_to_late_joiners(
    classroom: Classroom,
) -> None:
    await classroom.create()
    host = await classroom.enter()
    await classroom.start()
    ada = await classroom.enter("student-1", "Ada")
    await host.send({**QUIZ, "open": True})
    poll_id = (await ada.wait_for(_poll("open")))["poll"]["id"]
    await host.send({**QUIZ, "question": "A draft for later"})
    await host.wait_for(_poll("draft"))
    await ada.send({"type": "poll_answer", "poll_id": poll_id, "options": ["0"]})
    await host.wait_for(_counts(1, {"0": 1, "1": 0, "2": 0}))

    await ada.close()
    again = await classroom.open(ada.join)
    (mine,) = (await again.wait_type("welcome"))["polls"]  # the draft is not hers to see
    assert (mine["poll"]["id"], mine["you"]) == (poll_id, {"options": ["0"]})
    bob = await classroom.enter("student-2", "Bob")
    (theirs,) = (await bob.wait_type("welcome"))["polls"]
    assert theirs["you"] is None and theirs["poll"]["results"] is None
    await host.close()
    host_again = await classroom.open(host.join)
    listed = (await host_again.wait_type("welcome"))["polls"]
    assert [p["poll"]["status"] for p in listed] == ["open", "draft"]
    assert listed[0]["poll"]["results"]["total_voters"] == 1


async def test_polls_survive_a_server_restart(node_settings: Settings, platform: Platform) -> None:
    with serve(node_settings) as url:
        async with httpx.AsyncClient(base_url=url, timeout=10) as api:
            room = Classroom(Node(url, node_settings), api, platform)
            await room.create()
            host = await room.enter()
            await room.start()
            ada = await room.enter("student-1", "Ada")
            await host.send({**QUIZ, "open": True})
            poll_id = (await ada.wait_for(_poll("open")))["poll"]["id"]
            await ada.send({"type": "poll_answer", "poll_id": poll_id, "options": ["1"]})
            await host.wait_for(_counts(1, {"0": 0, "1": 1, "2": 0}))
            await room.close_all()
    with serve(node_settings) as url:  # the same node, started again
        async with httpx.AsyncClient(base_url=url, timeout=10) as api:
            again = Classroom(Node(url, node_settings), api, platform, room.session_id)
            again.host_token = room.host_token
            back = await again.open(await again.join("student-1", "Ada"))
            (poll,) = (await back.wait_type("welcome"))["polls"]
            assert (poll["poll"]["id"], poll["poll"]["status"]) == (poll_id, "open")
            assert poll["you"] == {"options": ["1"]}
            await again.close_all()
