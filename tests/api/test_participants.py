"""Leave, the participant list, role changes, kick, and the waiting room."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.api.helpers import create_session, join, live_session
from tests.conftest import Platform

API = "/api/v1/sessions"
HOST = "teacher-1"


def host(platform: Platform) -> dict[str, str]:
    return platform.auth(HOST, "teacher")


async def _joined(
    client: httpx.AsyncClient, platform: Platform, session_id: str, user: str
) -> dict[str, Any]:
    r = await join(client, platform, session_id, user)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _set_role(
    client: httpx.AsyncClient,
    session_id: str,
    participant_id: str,
    role: str,
    headers: dict[str, str],
) -> httpx.Response:
    return await client.patch(
        f"{API}/{session_id}/participants/{participant_id}", json={"role": role}, headers=headers
    )


async def test_leave(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await live_session(client, platform)
    ticket = await _joined(client, platform, s["id"], "s1")
    r = await client.post(f"{API}/{s['id']}/leave", headers=platform.auth("s1", "student"))
    assert r.status_code == 200
    left = r.json()
    assert (left["id"], left["status"]) == (ticket["participant_id"], "left")
    assert left["left_at"] is not None
    again = await client.post(f"{API}/{s['id']}/leave", headers=platform.auth("s1", "student"))
    assert again.status_code == 200
    back = await _joined(client, platform, s["id"], "s1")
    assert back["participant_id"] == ticket["participant_id"]


async def test_leave_when_never_joined(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await live_session(client, platform)
    r = await client.post(f"{API}/{s['id']}/leave", headers=platform.auth("s9", "student"))
    assert r.status_code == 404
    assert r.json()["code"] == "PARTICIPANT_NOT_FOUND"


async def test_list_current_and_past(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await live_session(client, platform)
    for user in ("s1", "s2", "s3"):
        await _joined(client, platform, s["id"], user)
    await client.post(f"{API}/{s['id']}/leave", headers=platform.auth("s2", "student"))
    r = await client.get(f"{API}/{s['id']}/participants", headers=host(platform))
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 3
    by_user = {p["user_id"]: p for p in body["items"]}
    assert by_user["s1"]["status"] == "joined" and by_user["s1"]["left_at"] is None
    assert by_user["s2"]["status"] == "left" and by_user["s2"]["left_at"] is not None
    for p in body["items"]:
        assert datetime.fromisoformat(p["first_joined_at"]) <= datetime.fromisoformat(
            p["last_joined_at"]
        )
        assert p["total_seconds"] == 0.0  # nobody opened the classroom connection
        assert p["connected"] is False
    current = await client.get(
        f"{API}/{s['id']}/participants", params={"status": "joined"}, headers=host(platform)
    )
    assert {p["user_id"] for p in current.json()["items"]} == {"s1", "s3"}
    paged = await client.get(
        f"{API}/{s['id']}/participants", params={"page_size": 2, "page": 2}, headers=host(platform)
    )
    assert (paged.json()["total"], paged.json()["total_pages"], len(paged.json()["items"])) == (
        3,
        2,
        1,
    )


async def test_list_of_private_session_hidden(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    s = await live_session(client, platform, is_public=False)
    r = await client.get(f"{API}/{s['id']}/participants", headers=platform.auth("x", "student"))
    assert r.status_code == 404


async def test_host_changes_roles(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await live_session(client, platform)
    p = await _joined(client, platform, s["id"], "s1")
    for role in ("speaker", "co_host", "viewer"):
        r = await _set_role(client, s["id"], p["participant_id"], role, host(platform))
        assert r.status_code == 200, r.text
        assert r.json()["role"] == role
    refreshed = await client.post(
        f"{API}/{s['id']}/token", headers={"Authorization": f"Bearer {p['access_token']}"}
    )
    assert refreshed.json()["role"] == "viewer"


async def test_nobody_is_made_host(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await live_session(client, platform)
    p = await _joined(client, platform, s["id"], "s1")
    r = await _set_role(client, s["id"], p["participant_id"], "host", host(platform))
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "role"


async def test_co_host_limits(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await live_session(client, platform)
    co = await _joined(client, platform, s["id"], "co")
    await _set_role(client, s["id"], co["participant_id"], "co_host", host(platform))
    other_co = await _joined(client, platform, s["id"], "co2")
    await _set_role(client, s["id"], other_co["participant_id"], "co_host", host(platform))
    viewer = await _joined(client, platform, s["id"], "v")
    owner = (await client.post(f"{API}/{s['id']}/join", headers=host(platform))).json()
    as_co = platform.auth("co", "student")

    ok = await _set_role(client, s["id"], viewer["participant_id"], "speaker", as_co)
    assert ok.status_code == 200 and ok.json()["role"] == "speaker"
    for target, role in (
        (viewer, "co_host"),  # not above their own rank
        (other_co, "viewer"),  # not a peer
        (owner, "viewer"),  # never the host
    ):
        r = await _set_role(client, s["id"], target["participant_id"], role, as_co)
        assert r.status_code == 403, (target["user_id"], role)
        assert r.json()["code"] == "ROLE_NOT_ALLOWED"


@pytest.mark.parametrize("role", ["speaker", "viewer"])
async def test_members_cannot_change_roles(
    client: httpx.AsyncClient, platform: Platform, role: str
) -> None:
    s = await live_session(client, platform)
    me = await _joined(client, platform, s["id"], "me")
    await _set_role(client, s["id"], me["participant_id"], role, host(platform))
    other = await _joined(client, platform, s["id"], "other")
    r = await _set_role(
        client, s["id"], other["participant_id"], "speaker", platform.auth("me", "student")
    )
    assert r.status_code == 403
    assert r.json()["code"] == "NOT_MODERATOR"


async def test_promotion_respects_mesh_cap(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await live_session(client, platform, default_role="speaker")
    await client.post(f"{API}/{s['id']}/join", headers=host(platform))
    for i in range(5):
        await _joined(client, platform, s["id"], f"sp{i}")
    await client.patch(f"{API}/{s['id']}", json={"default_role": "viewer"}, headers=host(platform))
    v = await _joined(client, platform, s["id"], "v")
    assert v["role"] == "viewer"
    r = await _set_role(client, s["id"], v["participant_id"], "speaker", host(platform))
    assert r.status_code == 409
    assert r.json()["code"] == "MESH_FULL"


async def test_unknown_participant(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await live_session(client, platform)
    missing = "7b0c0a4e-1111-4222-8333-444455556666"
    r = await _set_role(client, s["id"], missing, "speaker", host(platform))
    assert r.status_code == 404
    r = await client.post(f"{API}/{s['id']}/participants/{missing}/kick", headers=host(platform))
    assert r.status_code == 404
    assert r.json()["code"] == "PARTICIPANT_NOT_FOUND"


async def test_participant_of_another_session(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    a = await live_session(client, platform)
    b = await live_session(client, platform, "teacher-2")
    p = await _joined(client, platform, b["id"], "s1")
    r = await client.post(
        f"{API}/{a['id']}/participants/{p['participant_id']}/kick", headers=host(platform)
    )
    assert r.status_code == 404


async def test_kick(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await live_session(client, platform)
    p = await _joined(client, platform, s["id"], "s1")
    r = await client.post(
        f"{API}/{s['id']}/participants/{p['participant_id']}/kick", headers=host(platform)
    )
    assert r.status_code == 200
    assert r.json()["status"] == "kicked"
    assert r.json()["kicked_at"] is not None
    again = await client.post(
        f"{API}/{s['id']}/participants/{p['participant_id']}/kick", headers=host(platform)
    )
    assert again.status_code == 200


async def test_kick_someone_who_left_keeps_them_out(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    s = await live_session(client, platform)
    p = await _joined(client, platform, s["id"], "s1")
    await client.post(f"{API}/{s['id']}/leave", headers=platform.auth("s1", "student"))
    r = await client.post(
        f"{API}/{s['id']}/participants/{p['participant_id']}/kick", headers=host(platform)
    )
    assert r.status_code == 200, r.text
    assert (await join(client, platform, s["id"], "s1")).json()["code"] == "KICKED"


async def test_co_host_kicks_viewer_not_host(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await live_session(client, platform)
    co = await _joined(client, platform, s["id"], "co")
    await _set_role(client, s["id"], co["participant_id"], "co_host", host(platform))
    owner = (await client.post(f"{API}/{s['id']}/join", headers=host(platform))).json()
    v = await _joined(client, platform, s["id"], "v")
    as_co = platform.auth("co", "student")
    r = await client.post(
        f"{API}/{s['id']}/participants/{owner['participant_id']}/kick", headers=as_co
    )
    assert r.status_code == 403
    r = await client.post(f"{API}/{s['id']}/participants/{v['participant_id']}/kick", headers=as_co)
    assert r.status_code == 200


async def test_admit_and_deny(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await live_session(client, platform, waiting_room=True, max_participants=1)
    a = (await join(client, platform, s["id"], "a")).json()
    b = (await join(client, platform, s["id"], "b")).json()
    c = (await join(client, platform, s["id"], "c")).json()
    assert {a["status"], b["status"], c["status"]} == {"waiting"}
    base = f"{API}/{s['id']}/participants"
    r = await client.post(f"{base}/{a['participant_id']}/admit", headers=host(platform))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "joined"
    rejoin = (await join(client, platform, s["id"], "a")).json()
    assert rejoin["status"] == "joined"
    full = await client.post(f"{base}/{b['participant_id']}/admit", headers=host(platform))
    assert full.status_code == 409
    assert full.json()["code"] == "SESSION_FULL"
    denied = await client.post(
        f"{base}/{c['participant_id']}/admit", json={"admit": False}, headers=host(platform)
    )
    assert denied.json()["status"] == "denied"
    assert (await join(client, platform, s["id"], "c")).json()["code"] == "DENIED"
    twice = await client.post(f"{base}/{a['participant_id']}/admit", headers=host(platform))
    assert twice.status_code == 409
    assert twice.json()["code"] == "NOT_WAITING"


async def test_admit_waits_for_start(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await create_session(client, platform, waiting_room=True)
    w = (await join(client, platform, s["id"], "a")).json()
    r = await client.post(
        f"{API}/{s['id']}/participants/{w['participant_id']}/admit", headers=host(platform)
    )
    assert r.status_code == 409
    assert r.json()["code"] == "SESSION_NOT_STARTED"
    await client.post(f"{API}/{s['id']}/start", headers=host(platform))
    r = await client.post(
        f"{API}/{s['id']}/participants/{w['participant_id']}/admit", headers=host(platform)
    )
    assert r.json()["status"] == "joined"
