"""Agora through the app: a join answers what an Agora client needs, and a kick sets a
kicking rule for the person's channel and uid (and they get no new token)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from liveclass.app import create_app
from liveclass.providers.agora_token import RtcPrivilege, parse_token
from liveclass.providers.hosted import numeric_uid
from tests.api.helpers import session_body
from tests.conftest import BASE_URL, Platform, make_settings
from tests.providers.hosted_harness import AgoraHarness
from tests.support.fake_agora import FakeAgora, serve_fake_agora

TEACHER = ("teacher-1", "teacher")


@pytest.fixture
def fake() -> Iterator[FakeAgora]:
    with serve_fake_agora() as running:
        yield running


@pytest.fixture
async def client(database_url: str, fake: FakeAgora, tmp_path: Path) -> AsyncIterator[Any]:
    settings = make_settings(
        database_url, recordings_dir=str(tmp_path / "rec"), **AgoraHarness(fake).settings()
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
            yield http


async def _class(client: httpx.AsyncClient, platform: Platform) -> str:
    r = await client.post(
        "/api/v1/sessions", json=session_body(provider="agora"), headers=platform.auth(*TEACHER)
    )
    assert r.status_code == 201, r.text
    sid = str(r.json()["id"])
    started = await client.post(f"/api/v1/sessions/{sid}/start", headers=platform.auth(*TEACHER))
    assert started.status_code == 200, started.text
    return sid


async def test_a_join_answers_app_id_channel_uid_token_and_expiry(
    client: httpx.AsyncClient, platform: Platform, fake: FakeAgora
) -> None:
    sid = await _class(client, platform)
    r = await client.post(
        f"/api/v1/sessions/{sid}/join", headers=platform.auth("student-1", "student")
    )
    assert r.status_code == 200, r.text
    media = r.json()["media"]
    assert media["app_id"] == fake.app_id
    assert media["uid"] == numeric_uid(media["channel"], "student-1")
    token = parse_token(media["token"])
    assert token.rtc.channel == media["channel"] and token.rtc.uid == str(media["uid"])
    assert set(token.rtc.privileges) == {RtcPrivilege.JOIN_CHANNEL}  # a student: a viewer
    assert token.expires_at == media["expires_at"]


async def test_a_kick_sets_a_kicking_rule_and_the_kicked_get_no_token(
    client: httpx.AsyncClient, platform: Platform, fake: FakeAgora
) -> None:
    sid = await _class(client, platform)
    student = platform.auth("student-1", "student")
    joined = (await client.post(f"/api/v1/sessions/{sid}/join", headers=student)).json()
    pid, channel = joined["participant_id"], joined["media"]["channel"]
    kicked = await client.post(
        f"/api/v1/sessions/{sid}/participants/{pid}/kick", headers=platform.auth(*TEACHER)
    )
    assert kicked.status_code == 200, kicked.text
    (rule,) = fake.rules
    assert (rule["cname"], rule["uid"]) == (channel, numeric_uid(channel, "student-1"))
    again = await client.post(f"/api/v1/sessions/{sid}/join", headers=student)
    assert again.status_code == 403
    assert "token" not in again.text
