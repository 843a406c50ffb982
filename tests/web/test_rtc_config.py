"""``GET /api/v1/rtc/config``: STUN from settings, TURN with coturn REST-API credentials."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from liveclass.app import create_app
from liveclass.auth.issued import TokenIssuer
from liveclass.domain.roles import Role
from tests.api.helpers import join, live_session
from tests.conftest import BASE_URL, SECRET_KEY, Platform, make_settings

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


async def _seated(
    client: httpx.AsyncClient, platform: Platform, user: str
) -> tuple[str, dict[str, Any]]:
    """A live class with ``user`` in it: the session id and their join answer."""
    live = await live_session(client, platform, "teacher-1")
    joined = await join(client, platform, live["id"], user)
    assert joined.status_code == 200, joined.text
    body: dict[str, Any] = joined.json()
    return live["id"], body


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_kicked_participants_access_token_gets_no_turn_credentials(
    ice_client: httpx.AsyncClient, platform: Platform
) -> None:
    sid, kim = await _seated(ice_client, platform, "kicked-kim")
    good = await ice_client.get("/api/v1/rtc/config", headers=_bearer(kim["access_token"]))
    assert good.status_code == 200
    assert good.json()["ice_servers"][1]["username"].endswith(":kicked-kim")
    kicked = await ice_client.post(
        f"/api/v1/sessions/{sid}/participants/{kim['participant_id']}/kick",
        headers=platform.auth("teacher-1", "teacher"),
    )
    assert kicked.status_code == 200, kicked.text
    refused = await ice_client.get("/api/v1/rtc/config", headers=_bearer(kim["access_token"]))
    assert (refused.status_code, refused.json()["code"]) == (403, "KICKED")
    assert "ice_servers" not in refused.json()


async def test_an_access_token_of_an_old_token_version_is_refused(
    ice_client: httpx.AsyncClient, platform: Platform
) -> None:
    # a token signed with the right key but an older version than the seat's (as the
    # tokens handed out before a kick are): the signature alone would let it through
    sid, kim = await _seated(ice_client, platform, "student-7")
    issuer = TokenIssuer(SECRET_KEY, access_ttl_seconds=900)
    old, _ = issuer.access_token(
        session_id=uuid.UUID(sid),
        participant_id=uuid.UUID(kim["participant_id"]),
        user_id="student-7",
        name="Student-7",
        role=Role(kim["role"]),
        token_version=0,
    )
    refused = await ice_client.get("/api/v1/rtc/config", headers=_bearer(old))
    assert (refused.status_code, refused.json()["code"]) == (403, "KICKED")
    current = await ice_client.get("/api/v1/rtc/config", headers=_bearer(kim["access_token"]))
    assert current.status_code == 200


async def test_an_access_token_for_a_seat_that_does_not_exist_is_refused(
    ice_client: httpx.AsyncClient, platform: Platform
) -> None:
    issuer = TokenIssuer(SECRET_KEY, access_ttl_seconds=900)
    token, _ = issuer.access_token(
        session_id=uuid.uuid4(),
        participant_id=uuid.uuid4(),
        user_id="student-7",
        name="Student-7",
        role=Role.VIEWER,
        token_version=1,
    )
    refused = await ice_client.get("/api/v1/rtc/config", headers=_bearer(token))
    assert (refused.status_code, refused.json()["code"]) == (401, "TOKEN_INVALID")


async def test_an_access_token_of_a_class_that_ended_is_refused(
    ice_client: httpx.AsyncClient, platform: Platform
) -> None:
    sid, kim = await _seated(ice_client, platform, "student-7")
    ended = await ice_client.post(
        f"/api/v1/sessions/{sid}/end", headers=platform.auth("teacher-1", "teacher")
    )
    assert ended.status_code == 200, ended.text
    refused = await ice_client.get("/api/v1/rtc/config", headers=_bearer(kim["access_token"]))
    assert (refused.status_code, refused.json()["code"]) == (409, "SESSION_ENDED")
    # the platform's backend keeps its access with its own JWT
    backend = await ice_client.get("/api/v1/rtc/config", headers=platform.auth("student-7"))
    assert backend.status_code == 200
