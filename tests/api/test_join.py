"""``POST .../join``: who gets in, in what role, and the ticket they get."""

from __future__ import annotations

from typing import Any

import httpx
import jwt
import pytest

from tests.api.helpers import create_session, join, live_session
from tests.conftest import SECRET_KEY, Platform

API = "/api/v1/sessions"
HOST = "teacher-1"


def host(platform: Platform) -> dict[str, str]:
    return platform.auth(HOST, "teacher")


async def test_ticket(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await live_session(client, platform)
    r = await join(client, platform, s["id"], "student-1")
    assert r.status_code == 200, r.text
    t = r.json()
    assert (t["session_id"], t["user_id"], t["role"], t["status"]) == (
        s["id"],
        "student-1",
        "viewer",
        "joined",
    )
    assert t["permissions"] == {
        "can_publish": False,
        "can_subscribe": True,
        "can_publish_data": True,
        "can_share_screen": False,
        "room_admin": False,
        "can_record": False,
    }
    assert t["ws_url"] == f"ws://testserver/api/v1/sessions/{s['id']}/ws"
    claims = jwt.decode(t["access_token"], SECRET_KEY, algorithms=["HS256"])
    assert claims["sid"] == s["id"]
    assert claims["sub"] == "student-1"
    assert claims["pid"] == t["participant_id"]
    assert claims["role"] == "viewer"
    assert claims["exp"] - claims["iat"] == 900
    assert t["media"]["provider"] == "mesh"


async def test_owner_joins_as_host_before_start(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    s = await create_session(client, platform)
    r = await client.post(f"{API}/{s['id']}/join", headers=host(platform))
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "host"
    assert r.json()["permissions"]["room_admin"] is True
    assert r.json()["permissions"]["can_record"] is True


async def test_others_cannot_join_before_start(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    s = await create_session(client, platform)
    r = await join(client, platform, s["id"], "student-1")
    assert r.status_code == 409
    assert r.json()["code"] == "SESSION_NOT_STARTED"


async def test_waiting_room_before_start(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await create_session(client, platform, waiting_room=True)
    r = await join(client, platform, s["id"], "student-1")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "waiting"


async def test_waiting_room_when_live(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await live_session(client, platform, waiting_room=True)
    r = await join(client, platform, s["id"], "student-1")
    assert r.json()["status"] == "waiting"
    assert "url" not in r.json()["media"]


@pytest.mark.parametrize("setup", ["cancel", "end"])
async def test_no_join_after_cancel_or_end(
    client: httpx.AsyncClient, platform: Platform, setup: str
) -> None:
    s = await create_session(client, platform)
    if setup == "end":
        await client.post(f"{API}/{s['id']}/start", headers=host(platform))
    await client.post(f"{API}/{s['id']}/{setup}", headers=host(platform))
    expected = "SESSION_CANCELLED" if setup == "cancel" else "SESSION_ENDED"
    for user in ("student-1", HOST):
        r = await client.post(f"{API}/{s['id']}/join", headers=platform.auth(user, "teacher"))
        assert r.status_code == 409
        assert r.json()["code"] == expected


async def test_join_unknown_session(client: httpx.AsyncClient, platform: Platform) -> None:
    r = await join(client, platform, "7b0c0a4e-1111-4222-8333-444455556666", "student-1")
    assert r.status_code == 404


async def test_private_needs_invite(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await live_session(client, platform, is_public=False)
    r = await join(client, platform, s["id"], "student-1")
    assert r.status_code == 403
    assert r.json()["code"] == "INVITE_REQUIRED"
    bad = await join(client, platform, s["id"], "student-1", invite_token="not-a-token")
    assert bad.json()["code"] == "INVITE_INVALID"
    ok = await join(client, platform, s["id"], "student-1", invite_token=s["invite_token"])
    assert ok.status_code == 200, ok.text


async def test_invite_of_another_session_refused(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    a = await live_session(client, platform, is_public=False)
    b = await live_session(client, platform, is_public=False)
    r = await join(client, platform, a["id"], "student-1", invite_token=b["invite_token"])
    assert r.status_code == 403
    assert r.json()["code"] == "INVITE_INVALID"


async def test_access_token_is_not_an_invite(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await live_session(client, platform, is_public=False)
    ticket = (await client.post(f"{API}/{s['id']}/join", headers=host(platform))).json()
    r = await join(client, platform, s["id"], "student-1", invite_token=ticket["access_token"])
    assert r.json()["code"] == "INVITE_INVALID"


async def test_rotation_invalidates_old_invite(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    s = await live_session(client, platform, is_public=False)
    r = await client.post(f"{API}/{s['id']}/invite/rotate", headers=host(platform))
    assert r.status_code == 200
    new = r.json()
    assert new["invite_token"] != s["invite_token"]
    assert new["invite_url"].endswith(new["invite_token"])
    old = await join(client, platform, s["id"], "student-1", invite_token=s["invite_token"])
    assert old.status_code == 403
    assert old.json()["code"] == "INVITE_INVALID"
    ok = await join(client, platform, s["id"], "student-1", invite_token=new["invite_token"])
    assert ok.status_code == 200
    shown = await client.get(f"{API}/{s['id']}", headers=host(platform))
    current = shown.json()["invite_token"]
    ok = await join(client, platform, s["id"], "student-2", invite_token=current)
    assert ok.status_code == 200


async def test_password(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await live_session(client, platform, password="open-sesame")
    missing = await join(client, platform, s["id"], "student-1")
    assert missing.json()["code"] == "PASSWORD_REQUIRED"
    wrong = await join(client, platform, s["id"], "student-1", password="open-sesam")
    assert wrong.status_code == 403
    assert wrong.json()["code"] == "WRONG_PASSWORD"
    ok = await join(client, platform, s["id"], "student-1", password="open-sesame")
    assert ok.status_code == 200
    owner = await client.post(f"{API}/{s['id']}/join", headers=host(platform))
    assert owner.status_code == 200  # the host needs no password


async def test_private_with_password_needs_both(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    s = await live_session(client, platform, is_public=False, password="open-sesame")
    r = await join(client, platform, s["id"], "u1", invite_token=s["invite_token"])
    assert r.json()["code"] == "PASSWORD_REQUIRED"
    r = await join(client, platform, s["id"], "u1", password="open-sesame")
    assert r.json()["code"] == "INVITE_REQUIRED"
    r = await join(
        client, platform, s["id"], "u1", invite_token=s["invite_token"], password="open-sesame"
    )
    assert r.status_code == 200


async def test_capacity_and_host_always_fits(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await live_session(client, platform, max_participants=2)
    for user in ("s1", "s2"):
        assert (await join(client, platform, s["id"], user)).status_code == 200
    full = await join(client, platform, s["id"], "s3")
    assert full.status_code == 409
    assert full.json()["code"] == "SESSION_FULL"
    owner = await client.post(f"{API}/{s['id']}/join", headers=host(platform))
    assert owner.status_code == 200
    # a seat freed by leaving can be taken
    await client.post(f"{API}/{s['id']}/leave", headers=platform.auth("s1", "student"))
    assert (await join(client, platform, s["id"], "s3")).status_code == 200
    assert (await join(client, platform, s["id"], "s1")).json()["code"] == "SESSION_FULL"


async def test_rejoin_is_idempotent(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await live_session(client, platform, max_participants=1)
    first = (await join(client, platform, s["id"], "s1")).json()
    second = await join(client, platform, s["id"], "s1")
    assert second.status_code == 200  # not SESSION_FULL: the seat is already theirs
    assert second.json()["participant_id"] == first["participant_id"]
    r = await client.get(f"{API}/{s['id']}/participants", headers=host(platform))
    assert r.json()["total"] == 1
    stats = await client.get(f"{API}/{s['id']}/stats", headers=host(platform))
    assert stats.json()["current_participants"] == 1
    assert stats.json()["total_unique_participants"] == 1


async def _kicked(client: httpx.AsyncClient, platform: Platform) -> tuple[dict[str, Any], str]:
    s = await live_session(client, platform)
    ticket = (await join(client, platform, s["id"], "s1")).json()
    r = await client.post(
        f"{API}/{s['id']}/participants/{ticket['participant_id']}/kick", headers=host(platform)
    )
    assert r.status_code == 200, r.text
    return s, ticket["access_token"]


async def test_kicked_cannot_rejoin(client: httpx.AsyncClient, platform: Platform) -> None:
    s, _ = await _kicked(client, platform)
    r = await join(client, platform, s["id"], "s1")
    assert r.status_code == 403
    assert r.json()["code"] == "KICKED"


async def test_refresh_token(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await live_session(client, platform)
    ticket = (await join(client, platform, s["id"], "s1")).json()
    r = await client.post(
        f"{API}/{s['id']}/token", headers={"Authorization": f"Bearer {ticket['access_token']}"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["participant_id"] == ticket["participant_id"]
    jwt.decode(r.json()["access_token"], SECRET_KEY, algorithms=["HS256"])


async def test_kicked_access_token_stops_working(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    s, token = await _kicked(client, platform)
    r = await client.post(f"{API}/{s['id']}/token", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403
    assert r.json()["code"] == "KICKED"


@pytest.mark.parametrize("kind", ["none", "platform", "other-session", "garbage"])
async def test_refresh_needs_a_valid_access_token(
    client: httpx.AsyncClient, platform: Platform, kind: str
) -> None:
    s = await live_session(client, platform)
    other = await live_session(client, platform)
    other_ticket = (await join(client, platform, other["id"], "s1")).json()
    tokens = {
        "platform": platform.token("s1", "student"),
        "other-session": other_ticket["access_token"],
        "garbage": "a.b.c",
    }
    headers = {"Authorization": f"Bearer {tokens[kind]}"} if kind in tokens else {}
    r = await client.post(f"{API}/{s['id']}/token", headers=headers)
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"


async def test_refresh_after_end_fails(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await live_session(client, platform)
    ticket = (await join(client, platform, s["id"], "s1")).json()
    await client.post(f"{API}/{s['id']}/end", headers=host(platform))
    r = await client.post(
        f"{API}/{s['id']}/token", headers={"Authorization": f"Bearer {ticket['access_token']}"}
    )
    assert r.status_code == 409
    assert r.json()["code"] == "SESSION_ENDED"


async def test_mesh_publisher_cap(client: httpx.AsyncClient, platform: Platform) -> None:
    # the default cap is 6 publishers: the host and five speakers
    s = await live_session(client, platform, default_role="speaker")
    assert (await client.post(f"{API}/{s['id']}/join", headers=host(platform))).status_code == 200
    for i in range(5):
        assert (await join(client, platform, s["id"], f"s{i}")).status_code == 200
    r = await join(client, platform, s["id"], "s5")
    assert r.status_code == 409
    assert r.json()["code"] == "MESH_FULL"


async def test_mesh_cap_does_not_limit_viewers(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    s = await live_session(client, platform)
    for i in range(8):
        assert (await join(client, platform, s["id"], f"s{i}")).status_code == 200


async def test_janus_not_configured(client: httpx.AsyncClient, platform: Platform) -> None:
    r = await client.post(
        API,
        json={"title": "Big", "scheduled_at": "2030-01-01T10:00:00Z", "provider": "janus"},
        headers=host(platform),
    )
    assert r.status_code == 422
    assert r.json()["code"] == "PROVIDER_UNAVAILABLE"
