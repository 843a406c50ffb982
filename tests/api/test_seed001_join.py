"""Seed 001's join: ``display_name`` and ``session_id`` in the body; ``can_publish``,
``can_subscribe``, ``server_url`` and ``message`` in the answer."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
import websockets

from liveclass.app import create_app
from tests.api.helpers import create_session, join, live_session
from tests.conftest import BASE_URL, Platform, make_settings
from tests.realtime.server import serve
from tests.support.servers import free_port

API = "/api/v1/sessions"


def _host(platform: Platform) -> dict[str, str]:
    return platform.auth("teacher-1", "teacher")


def _fields(r: httpx.Response) -> list[str]:
    return [e["field"] for e in r.json()["errors"]]


async def test_display_name_is_the_name_of_the_seat(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    s = await live_session(client, platform)
    r = await join(client, platform, s["id"], "student-1", display_name="  Ada Lovelace  ")
    assert r.status_code == 200, r.text
    assert (r.json()["user_id"], r.json()["name"]) == ("student-1", "Ada Lovelace")

    listed = await client.get(f"{API}/{s['id']}/participants", headers=_host(platform))
    assert [p["name"] for p in listed.json()["items"]] == ["Ada Lovelace"]
    stats = await client.get(f"{API}/{s['id']}/stats", headers=_host(platform))
    assert [a["name"] for a in stats.json()["attendance"]] == ["Ada Lovelace"]
    # the access token carries it too: a refresh (the classroom's reconnect) keeps it
    access = {"Authorization": f"Bearer {r.json()['access_token']}"}
    refreshed = await client.post(f"{API}/{s['id']}/token", headers=access)
    assert refreshed.json()["name"] == "Ada Lovelace"


async def test_without_display_name_the_tokens_name_is_shown(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    s = await live_session(client, platform)
    named = await join(client, platform, s["id"], "student-1", display_name="Ada")
    assert named.json()["name"] == "Ada"
    again = await join(client, platform, s["id"], "student-1")
    assert again.status_code == 200, again.text
    assert again.json()["name"] == "Student-1"  # Platform names a token after its sub
    assert again.json()["participant_id"] == named.json()["participant_id"]
    renamed = await join(client, platform, s["id"], "student-1", display_name="Ada L.")
    listed = await client.get(f"{API}/{s['id']}/participants", headers=_host(platform))
    assert renamed.json()["name"] == listed.json()["items"][0]["name"] == "Ada L."


async def test_the_host_joins_under_a_display_name_too(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    s = await create_session(client, platform)
    r = await client.post(
        f"{API}/{s['id']}/join", json={"display_name": "Prof. Tess"}, headers=_host(platform)
    )
    assert r.status_code == 200, r.text
    assert (r.json()["role"], r.json()["name"]) == ("host", "Prof. Tess")


@pytest.mark.parametrize(
    "name",
    ["", "   ", "x" * 101, "Ada\nLovelace", "Ada\tL", "Ada\x1b[31m", "Ada\x7f", "Ada\x85L", 42],
)
async def test_display_name_rules(
    client: httpx.AsyncClient, platform: Platform, name: object
) -> None:
    s = await live_session(client, platform)
    r = await join(client, platform, s["id"], "student-1", display_name=name)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "VALIDATION_ERROR"
    assert _fields(r) == ["display_name"]
    longest = await join(client, platform, s["id"], "student-1", display_name=" " + "é" * 100)
    assert longest.status_code == 200, longest.text
    assert longest.json()["name"] == "é" * 100


async def _join_with(
    client: httpx.AsyncClient, platform: Platform, path_id: str, user: str, body: dict[str, Any]
) -> httpx.Response:
    return await client.post(
        f"{API}/{path_id}/join", json=body, headers=platform.auth(user, "student")
    )


async def test_body_session_id_must_be_the_paths(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    s = await live_session(client, platform)
    same = await _join_with(client, platform, s["id"], "student-1", {"session_id": s["id"]})
    assert same.status_code == 200, same.text
    elsewhere = {"session_id": str(uuid.uuid4())}
    other = await _join_with(client, platform, s["id"], "student-2", elsewhere)
    assert other.status_code == 422, other.text
    assert (other.json()["code"], _fields(other)) == ("VALIDATION_ERROR", ["session_id"])
    bad = await _join_with(client, platform, s["id"], "student-2", {"session_id": "nope"})
    assert (bad.status_code, _fields(bad)) == (422, ["session_id"])
    extra = {"session_id": s["id"], "colour": "blue"}
    unknown = await _join_with(client, platform, s["id"], "student-2", extra)
    assert (unknown.status_code, _fields(unknown)) == (422, ["colour"])
    # seed 001's whole body, as its platform sends it
    seed = {"session_id": s["id"], "invite_token": None, "display_name": "John Doe"}
    joined = await _join_with(client, platform, s["id"], "student-3", seed)
    assert (joined.status_code, joined.json()["name"]) == (200, "John Doe")


async def test_join_answer_carries_seed_001_fields(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    s = await live_session(client, platform)
    viewer = (await join(client, platform, s["id"], "student-1")).json()
    host = (await client.post(f"{API}/{s['id']}/join", headers=_host(platform))).json()
    for joined, publishes in ((viewer, False), (host, True)):
        assert joined["can_publish"] is joined["permissions"]["can_publish"] is publishes
        assert joined["can_subscribe"] is joined["permissions"]["can_subscribe"] is True
        assert joined["server_url"] == joined["ws_url"]
        assert joined["server_url"] == f"ws://testserver/api/v1/sessions/{s['id']}/ws"
        assert joined["message"] == "Joined session successfully"
        # on a mesh class the token for server_url is liveclass's own
        assert joined["access_token"] == joined["realtime_token"]


async def test_waiting_room_join_says_so(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await live_session(client, platform, waiting_room=True)
    r = await join(client, platform, s["id"], "student-1", display_name="Kim")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "waiting"
    assert "waiting room" in r.json()["message"]
    assert r.json()["message"] != "Joined session successfully"


async def test_server_url_follows_the_public_base_url(
    database_url: str, platform: Platform
) -> None:
    app = create_app(make_settings(database_url, public_base_url="https://class.school.test"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            s = await live_session(client, platform)
            joined = (await join(client, platform, s["id"], "student-1")).json()
    assert joined["server_url"] == f"wss://class.school.test/api/v1/sessions/{s['id']}/ws"


async def test_openapi_documents_the_seed_fields(client: httpx.AsyncClient) -> None:
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
    body = schemas["JoinBody"]["properties"]
    assert {"session_id", "display_name", "invite_token", "password"} <= set(body)
    out = schemas["JoinOut"]
    for name in ("can_publish", "can_subscribe", "server_url", "message"):
        assert name in out["properties"]
        assert name in out["required"]


# -- what the classroom socket announces ------------------------------------------------------


async def _next(ws: Any, kind: str) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(await ws.recv())
        if message.get("type") == kind:
            return message


async def test_the_socket_announces_the_display_name(database_url: str, platform: Platform) -> None:
    port = free_port()
    settings = make_settings(database_url, port=port, public_base_url=f"http://127.0.0.1:{port}")
    with serve(settings) as base:
        async with httpx.AsyncClient(base_url=base, timeout=10) as api:
            s = await live_session(api, platform, default_role="speaker")
            host = (await api.post(f"{API}/{s['id']}/join", headers=_host(platform))).json()
            kim = (await join(api, platform, s["id"], "student-1", display_name="Kim K.")).json()
        async with websockets.connect(
            f"{host['server_url']}?access_token={host['access_token']}"
        ) as h:
            await _next(h, "welcome")  # the host is in the room before Kim comes
            async with websockets.connect(
                f"{kim['server_url']}?access_token={kim['access_token']}"
            ) as k:
                welcome = await _next(k, "welcome")
                assert welcome["you"]["name"] == "Kim K."
                peer = await _next(h, "peer_joined")
                assert peer["peer"]["name"] == "Kim K."
                await k.send(json.dumps({"type": "chat", "text": "hello"}))
                chat = await _next(h, "chat")
                assert (chat["name"], chat["text"]) == ("Kim K.", "hello")
