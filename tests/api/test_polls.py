"""Polls over REST: created before or during the class by its moderators, refused when bad."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.helpers import create_session, join, live_session
from tests.conftest import Platform

QUIZ: dict[str, Any] = {"question": "2 + 2?", "options": ["3", "4"], "quiz": True, "correct": [1]}


def _polls(session_id: str) -> str:
    return f"/api/v1/sessions/{session_id}/polls"


async def test_a_host_prepares_a_quiz_before_the_class(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    session = await create_session(client, platform)  # scheduled, not started
    host = platform.auth("teacher-1", "teacher")
    r = await client.post(_polls(session["id"]), json=QUIZ, headers=host)
    assert r.status_code == 201, r.text
    poll = r.json()
    assert (poll["status"], poll["correct"], poll["results_visible"]) == ("draft", ["1"], False)
    assert poll["options"] == [{"id": "0", "text": "3"}, {"id": "1", "text": "4"}]
    assert poll["results"] == {"total_voters": 0, "counts": {"0": 0, "1": 0}}
    assert poll["answers"] == []

    listed = await client.get(_polls(session["id"]), headers=host)
    assert [p["id"] for p in listed.json()] == [poll["id"]]
    one = await client.get(f"{_polls(session['id'])}/{poll['id']}", headers=host)
    assert one.json() == poll
    # a draft is the moderators' (the session is public: anyone may read it)
    student = platform.auth("student-1", "student")
    assert (await client.get(_polls(session["id"]), headers=student)).json() == []
    hidden = await client.get(f"{_polls(session['id'])}/{poll['id']}", headers=student)
    assert (hidden.status_code, hidden.json()["code"]) == (404, "POLL_NOT_FOUND")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**QUIZ, "options": ["only"]}, "options"),
        ({**QUIZ, "options": ["a"] * 11}, "options"),
        ({**QUIZ, "question": ""}, "question"),
        ({**QUIZ, "question": "x" * 301}, "question"),
        ({**QUIZ, "options": ["a", "b" * 201]}, "options"),
        ({**QUIZ, "correct": []}, "correct"),
        ({**QUIZ, "correct": [0, 1]}, "correct"),  # single choice: exactly one
        ({**QUIZ, "correct": [5]}, "correct"),
        ({**QUIZ, "quiz": False}, "correct"),  # only a quiz has correct answers
        ({**QUIZ, "colour": "red"}, "colour"),
        ({**QUIZ, "options": ["  ", "b"]}, "options"),
    ],
)
async def test_a_bad_poll_is_a_problem_naming_its_field(
    client: httpx.AsyncClient, platform: Platform, body: dict[str, Any], field: str
) -> None:
    session = await create_session(client, platform)
    r = await client.post(
        _polls(session["id"]), json=body, headers=platform.auth("teacher-1", "teacher")
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert field in r.text


async def test_only_moderators_create_and_not_after_the_end(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    session = await live_session(client, platform, default_role="speaker")
    assert (await join(client, platform, session["id"], "student-1")).status_code == 200
    refused = await client.post(
        _polls(session["id"]), json=QUIZ, headers=platform.auth("student-1", "student")
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "NOT_MODERATOR")
    host = platform.auth("teacher-1", "teacher")
    assert (await client.post(_polls(session["id"]), json=QUIZ, headers=host)).status_code == 201
    await client.post(f"/api/v1/sessions/{session['id']}/end", headers=host)
    late = await client.post(_polls(session["id"]), json=QUIZ, headers=host)
    assert (late.status_code, late.json()["code"]) == (409, "INVALID_STATE")
    missing = await client.get(_polls("00000000-0000-0000-0000-000000000000"), headers=host)
    assert missing.status_code == 404


async def test_a_kicked_participant_may_not_read_the_polls(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    session = await live_session(client, platform)
    joined = await join(client, platform, session["id"], "student-1")
    host = platform.auth("teacher-1", "teacher")
    kicked = await client.post(
        f"/api/v1/sessions/{session['id']}/participants/{joined.json()['participant_id']}/kick",
        headers=host,
    )
    assert kicked.status_code == 200
    r = await client.get(_polls(session["id"]), headers=platform.auth("student-1", "student"))
    assert (r.status_code, r.json()["code"]) == (403, "KICKED")


async def test_the_stats_list_the_polls(client: httpx.AsyncClient, platform: Platform) -> None:
    session = await live_session(client, platform)
    host = platform.auth("teacher-1", "teacher")
    poll = (await client.post(_polls(session["id"]), json=QUIZ, headers=host)).json()
    stats = await client.get(f"/api/v1/sessions/{session['id']}/stats", headers=host)
    assert stats.json()["polls"] == [
        {"id": poll["id"], "question": "2 + 2?", "quiz": True, "total_voters": 0}
    ]
