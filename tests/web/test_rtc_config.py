"""``GET /api/v1/rtc/config``: STUN from settings, TURN with coturn REST-API credentials."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from liveclass.app import create_app
from tests.conftest import BASE_URL, Platform, make_settings

TURN_SECRET = "coturn-shared-secret-for-tests"


@pytest.fixture
async def ice_client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(
        database_url,
        stun_urls="stun:stun.example.test:3478",
        turn_urls="turn:turn.example.test:3478?transport=udp,turns:turn.example.test:5349",
        turn_secret=TURN_SECRET,
        turn_ttl_seconds=600,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            yield client


async def test_needs_a_token(ice_client: httpx.AsyncClient) -> None:
    response = await ice_client.get("/api/v1/rtc/config")
    assert response.status_code == 401
    assert response.json()["code"] == "TOKEN_MISSING"
    forged = await ice_client.get("/api/v1/rtc/config", headers={"Authorization": "Bearer x.y.z"})
    assert forged.status_code == 401


async def test_turn_credentials_follow_coturns_rest_api(
    ice_client: httpx.AsyncClient, platform: Platform
) -> None:
    before = int(time.time())
    response = await ice_client.get("/api/v1/rtc/config", headers=platform.auth("student-7"))
    assert response.status_code == 200, response.text
    body = response.json()
    stun, turn = body["ice_servers"]
    assert stun == {"urls": ["stun:stun.example.test:3478"], "username": None, "credential": None}
    assert turn["urls"] == [
        "turn:turn.example.test:3478?transport=udp",
        "turns:turn.example.test:5349",
    ]
    expiry, user = turn["username"].split(":", 1)
    assert user == "student-7"
    assert before + 600 <= int(expiry) <= int(time.time()) + 600
    expected = hmac.new(TURN_SECRET.encode(), turn["username"].encode(), hashlib.sha1).digest()
    assert turn["credential"] == base64.b64encode(expected).decode()
    assert body["ttl_seconds"] == 600


async def test_a_classroom_access_token_works_too(
    ice_client: httpx.AsyncClient, platform: Platform
) -> None:
    created = await ice_client.post(
        "/api/v1/sessions",
        headers=platform.auth("teacher-1", "teacher"),
        json={"title": "ICE", "scheduled_at": datetime.now(UTC).isoformat(), "duration": 30},
    )
    assert created.status_code == 201, created.text
    joined = await ice_client.post(
        f"/api/v1/sessions/{created.json()['id']}/join",
        json={},
        headers=platform.auth("teacher-1", "teacher"),
    )
    assert joined.status_code == 200, joined.text
    response = await ice_client.get(
        "/api/v1/rtc/config",
        headers={"Authorization": f"Bearer {joined.json()['access_token']}"},
    )
    assert response.status_code == 200
    assert response.json()["ice_servers"][1]["username"].endswith(":teacher-1")


async def test_without_turn_only_stun_is_offered(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    response = await client.get("/api/v1/rtc/config", headers=platform.auth("student-7"))
    assert response.status_code == 200
    assert response.json()["ice_servers"] == []
