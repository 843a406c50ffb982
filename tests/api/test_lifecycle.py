"""scheduled -> live -> ended, scheduled -> cancelled; idempotent start/end; 409 otherwise."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from tests.api.helpers import create_session, join, live_session
from tests.conftest import Platform

API = "/api/v1/sessions"


def host(platform: Platform) -> dict[str, str]:
    return platform.auth("teacher-1", "teacher")


async def test_start_then_end(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await create_session(client, platform)
    started = await client.post(f"{API}/{s['id']}/start", headers=host(platform))
    assert started.status_code == 200
    assert started.json()["status"] == "live"
    assert started.json()["started_at"] is not None
    ended = await client.post(f"{API}/{s['id']}/end", headers=host(platform))
    assert ended.status_code == 200
    body = ended.json()
    assert body["status"] == "ended"
    assert body["end_reason"] == "ended_by_host"
    assert datetime.fromisoformat(body["ended_at"]) >= datetime.fromisoformat(body["started_at"])


async def test_start_and_end_are_idempotent(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await live_session(client, platform)
    again = await client.post(f"{API}/{s['id']}/start", headers=host(platform))
    assert again.status_code == 200
    assert again.json()["started_at"] == s["started_at"]
    first = await client.post(f"{API}/{s['id']}/end", headers=host(platform))
    second = await client.post(f"{API}/{s['id']}/end", headers=host(platform))
    assert second.status_code == 200
    assert second.json()["ended_at"] == first.json()["ended_at"]


@pytest.mark.parametrize("how", ["delete", "post"])
async def test_cancel_is_soft(client: httpx.AsyncClient, platform: Platform, how: str) -> None:
    s = await create_session(client, platform)
    url = f"{API}/{s['id']}"
    if how == "delete":
        r = await client.delete(url, headers=host(platform))
    else:
        r = await client.post(f"{url}/cancel", headers=host(platform))
    assert r.status_code == 200
    assert r.json()["status"] == "cancelled"
    assert r.json()["end_reason"] == "cancelled"
    still = await client.get(url, headers=host(platform))
    assert still.status_code == 200
    assert still.json()["status"] == "cancelled"
    again = await client.delete(url, headers=host(platform))
    assert again.status_code == 200


@pytest.mark.parametrize(
    ("setup", "action"),
    [
        ("scheduled", "end"),
        ("live", "cancel"),
        ("ended", "start"),
        ("ended", "cancel"),
        ("cancelled", "start"),
        ("cancelled", "end"),
    ],
)
async def test_illegal_transitions(
    client: httpx.AsyncClient, platform: Platform, setup: str, action: str
) -> None:
    s = await create_session(client, platform)
    url = f"{API}/{s['id']}"
    steps = {"scheduled": [], "live": ["start"], "ended": ["start", "end"], "cancelled": ["cancel"]}
    for step in steps[setup]:
        assert (await client.post(f"{url}/{step}", headers=host(platform))).status_code == 200
    r = await client.post(f"{url}/{action}", headers=host(platform))
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "INVALID_STATE"
    assert r.headers["content-type"] == "application/problem+json"
    assert (await client.get(url, headers=host(platform))).json()["status"] == setup


async def test_end_closes_participants(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await live_session(client, platform)
    assert (await join(client, platform, s["id"], "student-1")).status_code == 200
    await client.post(f"{API}/{s['id']}/end", headers=host(platform))
    r = await client.get(f"{API}/{s['id']}/participants", headers=host(platform))
    assert {p["status"] for p in r.json()["items"]} == {"left"}
    assert all(p["left_at"] for p in r.json()["items"])


async def test_admin_may_run_anyones_session(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await create_session(client, platform)
    admin = platform.auth("root", "admin")
    assert (await client.post(f"{API}/{s['id']}/start", headers=admin)).json()["status"] == "live"
    assert (await client.post(f"{API}/{s['id']}/end", headers=admin)).json()["status"] == "ended"
