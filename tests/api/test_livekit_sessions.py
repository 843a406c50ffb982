"""A class on LiveKit through liveclass's API: settings, create, start, join, moderation,
end, against the fake LiveKit server (tokens checked with livekit-api's TokenVerifier)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from livekit.api import TokenVerifier
from pydantic import ValidationError

from liveclass.control import participants
from liveclass.domain.actors import Actor
from tests.api.helpers import create_session, join, live_session, session_body
from tests.api.livekit_support import KEY, SECRET, services_of
from tests.conftest import Platform, make_settings
from tests.support.fake_livekit import FakeLiveKitServer

TEACHER = ("teacher-1", "teacher")


def verify(token: str) -> Any:
    return TokenVerifier(KEY, SECRET).verify(token)


# -- settings ------------------------------------------------------------------------------


def test_default_provider_livekit_needs_its_settings() -> None:
    with pytest.raises(ValidationError, match="LIVEKIT_URL, LIVEKIT_API_KEY"):
        make_settings("sqlite+aiosqlite:///x.db", default_provider="livekit")


def test_livekit_settings_come_all_together() -> None:
    with pytest.raises(ValidationError, match="all of LIVEKIT_URL"):
        make_settings("sqlite+aiosqlite:///x.db", livekit_url="wss://lk.example.org")


def test_livekit_api_url_defaults_to_livekit_url() -> None:
    given = {"livekit_api_key": "k", "livekit_api_secret": "s" * 32}
    derived = make_settings("sqlite+aiosqlite:///x.db", livekit_url="wss://lk.example.org", **given)
    assert derived.livekit_api_base == "wss://lk.example.org"  # the client makes it https
    own = make_settings(
        "sqlite+aiosqlite:///x.db",
        livekit_url="wss://lk.example.org",
        livekit_api_url="http://10.0.0.9:7880",
        **given,
    )
    assert own.livekit_api_base == "http://10.0.0.9:7880"


def test_a_livekit_url_must_be_a_url() -> None:
    with pytest.raises(ValidationError, match="LIVEKIT_URL must start with"):
        make_settings(
            "sqlite+aiosqlite:///x.db",
            livekit_url="lk.example.org",
            livekit_api_key="k",
            livekit_api_secret="s" * 32,
        )


async def test_a_livekit_session_is_refused_where_livekit_is_not_configured(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    r = await client.post(
        "/api/v1/sessions",
        json=session_body(provider="livekit"),
        headers=platform.auth(*TEACHER),
    )
    assert r.status_code == 422
    assert r.json()["code"] == "PROVIDER_UNAVAILABLE"
    assert "livekit" in r.json()["detail"]


# -- create and start ----------------------------------------------------------------------


async def test_create_answers_a_host_token_for_the_owner(
    lk: httpx.AsyncClient, platform: Platform
) -> None:
    s = await create_session(lk, platform, provider="livekit")
    claims = verify(s["host_token"])
    assert claims.identity == "teacher-1"
    assert claims.video.room == s["id"]
    assert claims.video.room_admin and claims.video.room_record
    mesh = await create_session(lk, platform)
    assert mesh["host_token"] is None


async def test_start_creates_the_room_with_the_class_limits(
    lk: httpx.AsyncClient, platform: Platform, livekit_server: FakeLiveKitServer
) -> None:
    s = await live_session(lk, platform, provider="livekit", max_participants=30)
    (call,) = livekit_server.fake.calls_of("CreateRoom")
    assert call.body["name"] == s["id"]
    assert call.body["max_participants"] == 31  # the host takes no seat
    assert s["id"] in livekit_server.fake.rooms


async def test_livekit_down_at_start_is_503_and_a_retry_starts(
    lk: httpx.AsyncClient, platform: Platform, livekit_server: FakeLiveKitServer
) -> None:
    s = await create_session(lk, platform, provider="livekit")
    livekit_server.stop()
    r = await lk.post(f"/api/v1/sessions/{s['id']}/start", headers=platform.auth(*TEACHER))
    assert r.status_code == 503
    assert r.json()["code"] == "MEDIA_UNAVAILABLE"
    got = await lk.get(f"/api/v1/sessions/{s['id']}", headers=platform.auth(*TEACHER))
    assert got.json()["status"] == "scheduled"  # nothing half-done
    livekit_server.start()
    r = await lk.post(f"/api/v1/sessions/{s['id']}/start", headers=platform.auth(*TEACHER))
    assert r.status_code == 200
    assert r.json()["status"] == "live"


# -- join ----------------------------------------------------------------------------------


async def test_join_answers_the_livekit_token_and_server_url(
    lk: httpx.AsyncClient, platform: Platform, livekit_server: FakeLiveKitServer
) -> None:
    s = await live_session(lk, platform, provider="livekit", default_role="speaker")
    r = await join(lk, platform, s["id"], "student-1", display_name="John Doe")
    assert r.status_code == 200, r.text
    body = r.json()
    lk_url = livekit_server.url.replace("http://", "ws://")
    assert body["server_url"] == lk_url == body["media"]["server_url"]
    media = body["media"]
    assert media["provider"] == "livekit"
    assert media["token"] == media["access_token"]
    claims = verify(media["access_token"])
    assert claims.identity == "student-1"
    assert claims.name == "John Doe"
    assert claims.video.room == s["id"]
    assert claims.video.can_publish and claims.video.can_publish_data
    assert not claims.video.room_admin
    # seed 001: the top-level server_url and access_token are what livekit-client takes
    assert body["access_token"] == media["access_token"]
    # liveclass's own token (the classroom channel) is realtime_token, no LiveKit token
    assert body["realtime_token"] != media["access_token"]
    with pytest.raises(jwt.InvalidSignatureError):
        verify(body["realtime_token"])
    refreshed = await lk.post(
        f"/api/v1/sessions/{s['id']}/token",
        headers={"Authorization": f"Bearer {body['realtime_token']}"},
    )
    assert refreshed.status_code == 200, refreshed.text
    assert verify(refreshed.json()["access_token"]).identity == "student-1"
    # and the client really gets in with it
    joined = livekit_server.fake.connect(body["access_token"], sources=("camera",))
    assert joined["identity"] == "student-1"


async def test_livekit_down_at_join_is_503_and_a_retry_gets_the_token(
    lk: httpx.AsyncClient, platform: Platform, livekit_server: FakeLiveKitServer
) -> None:
    s = await live_session(lk, platform, provider="livekit")
    livekit_server.stop()
    r = await join(lk, platform, s["id"], "student-1")
    assert r.status_code == 503
    assert r.json()["code"] == "MEDIA_UNAVAILABLE"
    livekit_server.start()
    r = await join(lk, platform, s["id"], "student-1")
    assert r.status_code == 200, r.text
    assert verify(r.json()["media"]["access_token"]).identity == "student-1"


async def test_the_waiting_room_gets_no_livekit_token(
    lk: httpx.AsyncClient, platform: Platform
) -> None:
    s = await live_session(lk, platform, provider="livekit", waiting_room=True)
    r = await join(lk, platform, s["id"], "student-1")
    assert r.json()["status"] == "waiting"
    assert r.json()["media"] == {"provider": "livekit"}


async def test_a_kick_removes_them_from_livekit_and_they_get_no_new_token(
    lk: httpx.AsyncClient, platform: Platform, livekit_server: FakeLiveKitServer
) -> None:
    s = await live_session(lk, platform, provider="livekit")
    media = (await join(lk, platform, s["id"], "student-1")).json()["media"]
    livekit_server.fake.connect(media["access_token"])
    r = await lk.post(
        f"/api/v1/sessions/{s['id']}/participants/student-1/kick", headers=platform.auth(*TEACHER)
    )
    assert r.status_code == 200, r.text
    assert "student-1" not in livekit_server.fake.rooms[s["id"]].participants
    again = await join(lk, platform, s["id"], "student-1")
    assert again.status_code == 403
    assert again.json()["code"] == "KICKED"


async def test_a_role_change_updates_livekit_permissions_live(
    lk: httpx.AsyncClient, platform: Platform, livekit_server: FakeLiveKitServer
) -> None:
    s = await live_session(lk, platform, provider="livekit")
    media = (await join(lk, platform, s["id"], "student-1")).json()["media"]
    livekit_server.fake.connect(media["access_token"])
    r = await lk.patch(
        f"/api/v1/sessions/{s['id']}/participants/student-1",
        json={"role": "speaker"},
        headers=platform.auth(*TEACHER),
    )
    assert r.status_code == 200, r.text
    (call,) = livekit_server.fake.calls_of("UpdateParticipant")
    assert call.body["identity"] == "student-1"
    assert call.body["permission"]["can_publish"] is True
    assert "SCREEN_SHARE" in call.body["permission"]["can_publish_sources"]


async def test_livekit_down_at_a_role_change_is_503_and_a_retry_works(
    lk: httpx.AsyncClient, platform: Platform, livekit_server: FakeLiveKitServer
) -> None:
    s = await live_session(lk, platform, provider="livekit")
    media = (await join(lk, platform, s["id"], "student-1")).json()["media"]
    livekit_server.fake.connect(media["access_token"])
    livekit_server.fake.fail_next = 1
    path = f"/api/v1/sessions/{s['id']}/participants/student-1"
    r = await lk.patch(path, json={"role": "speaker"}, headers=platform.auth(*TEACHER))
    assert r.status_code == 503
    assert r.json()["code"] == "MEDIA_UNAVAILABLE"
    r = await lk.patch(path, json={"role": "speaker"}, headers=platform.auth(*TEACHER))
    assert r.status_code == 200
    permission = livekit_server.fake.rooms[s["id"]].participants["student-1"]["permission"]
    assert permission["can_publish"] is True


async def test_a_mute_request_mutes_the_track_on_livekit(
    lk: httpx.AsyncClient,
    lk_app: FastAPI,
    platform: Platform,
    livekit_server: FakeLiveKitServer,
) -> None:
    s = await live_session(lk, platform, provider="livekit", default_role="speaker")
    joined = (await join(lk, platform, s["id"], "student-1")).json()
    livekit_server.fake.connect(joined["media"]["access_token"], sources=("microphone",))
    muted = await participants.mute(
        services_of(lk_app),
        Actor(user_id="teacher-1", name="Teacher-1"),
        uuid.UUID(s["id"]),
        uuid.UUID(joined["participant_id"]),
        "audio",
    )
    assert muted is not None
    (track,) = livekit_server.fake.rooms[s["id"]].participants["student-1"]["tracks"]
    assert track["muted"] is True


async def test_end_deletes_the_room(
    lk: httpx.AsyncClient, platform: Platform, livekit_server: FakeLiveKitServer
) -> None:
    s = await live_session(lk, platform, provider="livekit")
    r = await lk.post(f"/api/v1/sessions/{s['id']}/end", headers=platform.auth(*TEACHER))
    assert r.status_code == 200, r.text
    assert s["id"] not in livekit_server.fake.rooms
    assert len(livekit_server.fake.calls_of("DeleteRoom")) == 1
