"""Kicked means out: a private class answers the people it put out as it answers a stranger.

A kicked participant and one the waiting room refused (denied) still have a participant
row; neither may read the class any more (the session, its people, its stats, its
recordings and their files), while one who left was there and keeps reading it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from liveclass.config import Settings
from liveclass.domain.actors import Actor
from liveclass.recording import service
from liveclass.recording.janus_post import PostResult, StoredFile
from liveclass.services import Services
from tests.api.helpers import join, live_session
from tests.conftest import Platform, make_settings

API = "/api/v1"
HOST = "teacher-1"
CLASS_FILE = b"not a real WebM: the download route streams whatever was stored" * 64


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, recordings_dir=str(tmp_path / "recordings"))


@dataclass(frozen=True)
class PrivateClass:
    """A live private class with a waiting room, two recordings, and people in each state."""

    session_id: str
    ready: uuid.UUID  # a recording with its file
    processing: uuid.UUID  # a stopped one, its file not made yet
    tokens: dict[str, str]  # each student's last access token


def host(platform: Platform) -> dict[str, str]:
    return platform.auth(HOST, "teacher")


def student(platform: Platform, user: str) -> dict[str, str]:
    return platform.auth(user, "student")


async def _let_in(
    client: httpx.AsyncClient, platform: Platform, sid: str, invite: str, user: str, *, admit: bool
) -> dict[str, Any]:
    waiting = await join(client, platform, sid, user, invite_token=invite)
    assert waiting.status_code == 200, waiting.text
    assert waiting.json()["status"] == "waiting"
    answered = await client.post(
        f"{API}/sessions/{sid}/participants/{waiting.json()['participant_id']}/admit",
        json={"admit": admit},
        headers=host(platform),
    )
    assert answered.status_code == 200, answered.text
    body: dict[str, Any] = waiting.json()
    if admit:
        joined = await join(client, platform, sid, user, invite_token=invite)
        assert joined.json()["status"] == "joined", joined.text
        body = joined.json()
    return body


async def _recording(services: Services, sid: str, tmp_path: Path, *, ready: bool) -> uuid.UUID:
    # Driven by the recording use cases with a known file standing in for the capture.
    actor = Actor(user_id=HOST, name=HOST)
    started = await service.start_recording(services.recorder, actor, uuid.UUID(sid))
    await service.mark_recording(services.recorder, started.id)
    await service.stop_recording(services.recorder, actor, uuid.UUID(sid))
    if ready:
        source = tmp_path / f"{started.id}.webm"
        source.write_bytes(CLASS_FILE)
        key = f"{started.id}/class.webm"
        size = await services.recorder.storage.put_file(key, source, content_type="video/webm")
        await service.finish(services.recorder, started.id, PostResult(main=StoredFile(key, size)))
    return started.id


@pytest.fixture
async def private_class(
    app: FastAPI, client: httpx.AsyncClient, platform: Platform, tmp_path: Path
) -> PrivateClass:
    live = await live_session(client, platform, HOST, is_public=False, waiting_room=True)
    sid, invite = live["id"], live["invite_token"]
    kicked = await _let_in(client, platform, sid, invite, "kicked-kim", admit=True)
    denied = await _let_in(client, platform, sid, invite, "denied-dan", admit=False)
    left = await _let_in(client, platform, sid, invite, "left-lou", admit=True)
    out = await client.post(
        f"{API}/sessions/{sid}/participants/{kicked['participant_id']}/kick", headers=host(platform)
    )
    assert out.json()["status"] == "kicked", out.text
    gone = await client.post(f"{API}/sessions/{sid}/leave", headers=student(platform, "left-lou"))
    assert gone.json()["status"] == "left", gone.text
    services: Services = app.state.services
    ready = await _recording(services, sid, tmp_path, ready=True)
    processing = await _recording(services, sid, tmp_path, ready=False)
    tokens = {
        "kicked-kim": kicked["access_token"],
        "denied-dan": denied["access_token"],
        "left-lou": left["access_token"],
    }
    return PrivateClass(sid, ready, processing, tokens)


def _reads(c: PrivateClass) -> list[tuple[str, str]]:
    """Every route that reads the class, or acts on it after a visibility check."""
    sid = c.session_id
    return [
        ("GET", f"{API}/sessions/{sid}"),
        ("GET", f"{API}/sessions/{sid}/participants"),
        ("GET", f"{API}/sessions/{sid}/participants?status=joined"),
        ("GET", f"{API}/sessions/{sid}/stats"),
        ("GET", f"{API}/sessions/{sid}/polls"),
        ("GET", f"{API}/sessions"),
        ("GET", f"{API}/sessions?is_public=false"),
        ("GET", f"{API}/recordings"),
        ("GET", f"{API}/recordings?session_id={sid}"),
        ("GET", f"{API}/recordings/{c.ready}"),
        ("GET", f"{API}/recordings/{c.ready}/download"),
        ("GET", f"{API}/recordings/{c.processing}"),
        ("GET", f"{API}/recordings/{c.processing}/download"),
        ("POST", f"{API}/sessions/{sid}/invite/rotate"),
        ("POST", f"{API}/sessions/{sid}/leave"),
        ("POST", f"{API}/sessions/{sid}/end"),
        ("DELETE", f"{API}/recordings/{c.ready}"),
    ]


def _answer(response: httpx.Response) -> tuple[int, Any]:
    """What a caller learns: the status, and the problem's code, the listing or the file."""
    if "json" not in response.headers["content-type"]:
        return response.status_code, response.headers["content-type"]
    body = response.json()
    return response.status_code, body.get("code", body)


async def _answers(
    client: httpx.AsyncClient, c: PrivateClass, headers: dict[str, str]
) -> dict[str, tuple[int, Any]]:
    return {
        f"{method} {url}": _answer(await client.request(method, url, headers=headers))
        for method, url in _reads(c)
    }


async def test_the_stranger_learns_nothing(
    client: httpx.AsyncClient, platform: Platform, private_class: PrivateClass
) -> None:
    answers = await _answers(client, private_class, student(platform, "stranger-sam"))
    sid = private_class.session_id
    assert answers[f"GET {API}/sessions/{sid}"] == (404, "SESSION_NOT_FOUND")
    assert answers[f"GET {API}/sessions/{sid}/participants"] == (404, "SESSION_NOT_FOUND")
    assert answers[f"POST {API}/sessions/{sid}/leave"] == (404, "SESSION_NOT_FOUND")
    assert answers[f"GET {API}/recordings/{private_class.processing}/download"] == (
        404,
        "RECORDING_NOT_FOUND",
    )
    for listing in (f"GET {API}/sessions", f"GET {API}/recordings?session_id={sid}"):
        status, page = answers[listing]
        assert (status, page["items"], page["total"]) == (200, [], 0)


@pytest.mark.parametrize("user", ["kicked-kim", "denied-dan"])
async def test_a_private_class_answers_the_people_it_put_out_as_a_stranger(
    client: httpx.AsyncClient, platform: Platform, private_class: PrivateClass, user: str
) -> None:
    stranger = await _answers(client, private_class, student(platform, "stranger-sam"))
    theirs = await _answers(client, private_class, student(platform, user))
    assert theirs == stranger
    # nothing they tried changed the class
    still = await client.get(f"{API}/sessions/{private_class.session_id}", headers=host(platform))
    assert still.json()["status"] == "live"
    kept = await client.get(f"{API}/recordings/{private_class.ready}", headers=host(platform))
    assert kept.json()["state"] == "ready"


@pytest.mark.parametrize("user", ["kicked-kim", "denied-dan"])
async def test_their_access_token_gets_no_fresh_one(
    client: httpx.AsyncClient, platform: Platform, private_class: PrivateClass, user: str
) -> None:
    refreshed = await client.post(
        f"{API}/sessions/{private_class.session_id}/token",
        headers={"Authorization": f"Bearer {private_class.tokens[user]}"},
    )
    assert refreshed.status_code == 403
    assert refreshed.json()["code"] == "KICKED"


async def test_one_who_left_still_reads_the_class(
    client: httpx.AsyncClient, platform: Platform, private_class: PrivateClass
) -> None:
    sid, lou = private_class.session_id, student(platform, "left-lou")
    session = await client.get(f"{API}/sessions/{sid}", headers=lou)
    assert session.status_code == 200
    assert session.json()["invite_token"] is None  # the invite stays the host's
    people = await client.get(f"{API}/sessions/{sid}/participants", headers=lou)
    assert people.status_code == 200
    assert {p["user_id"]: p["status"] for p in people.json()["items"]} == {
        "kicked-kim": "kicked",
        "denied-dan": "denied",
        "left-lou": "left",
    }
    listed = await client.get(f"{API}/sessions", headers=lou)
    assert [s["id"] for s in listed.json()["items"]] == [sid]
    recordings = await client.get(f"{API}/recordings?session_id={sid}", headers=lou)
    assert {r["id"] for r in recordings.json()["items"]} == {
        str(private_class.ready),
        str(private_class.processing),
    }
    download = await client.get(f"{API}/recordings/{private_class.ready}/download", headers=lou)
    assert download.status_code == 200
    assert download.content == CLASS_FILE
    not_yet = await client.get(f"{API}/recordings/{private_class.processing}/download", headers=lou)
    assert (not_yet.status_code, not_yet.json()["code"]) == (409, "RECORDING_NOT_READY")
    # per-person attendance stays the host's, for those who may see the class too
    stats = await client.get(f"{API}/sessions/{sid}/stats", headers=lou)
    assert (stats.status_code, stats.json()["code"]) == (403, "NOT_HOST")


async def test_a_kicked_person_sees_a_public_class_like_anyone_but_cannot_come_back(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    live = await live_session(client, platform, HOST)
    sid = live["id"]
    joined = await join(client, platform, sid, "kicked-kim")
    assert joined.status_code == 200, joined.text
    out = await client.post(
        f"{API}/sessions/{sid}/participants/{joined.json()['participant_id']}/kick",
        headers=host(platform),
    )
    assert out.status_code == 200, out.text
    kim, anyone = student(platform, "kicked-kim"), student(platform, "stranger-sam")
    seen = await client.get(f"{API}/sessions/{sid}", headers=kim)
    assert seen.status_code == 200
    assert seen.json() == (await client.get(f"{API}/sessions/{sid}", headers=anyone)).json()
    again = await join(client, platform, sid, "kicked-kim")
    assert (again.status_code, again.json()["code"]) == (403, "KICKED")
    refreshed = await client.post(
        f"{API}/sessions/{sid}/token",
        headers={"Authorization": f"Bearer {joined.json()['access_token']}"},
    )
    assert (refreshed.status_code, refreshed.json()["code"]) == (403, "KICKED")
