"""200 people join a class of 50 at the same moment: exactly 50 get in, plus the host."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx

from tests.api.helpers import live_session
from tests.conftest import Platform

API = "/api/v1/sessions"


async def test_concurrent_joins_never_exceed_capacity(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    s = await live_session(client, platform, max_participants=50, default_role="viewer")
    host = platform.auth("teacher-1", "teacher")
    tokens = [platform.auth(f"student-{i}", "student") for i in range(200)]

    async def one(headers: dict[str, str]) -> httpx.Response:
        return await client.post(f"{API}/{s['id']}/join", headers=headers)

    host_join, *answers = await asyncio.gather(one(host), *(one(h) for h in tokens))
    assert host_join.status_code == 200, host_join.text
    statuses = Counter(r.status_code for r in answers)
    assert statuses == {200: 50, 409: 150}, statuses
    assert {r.json()["code"] for r in answers if r.status_code == 409} == {"SESSION_FULL"}

    listed = await client.get(
        f"{API}/{s['id']}/participants", params={"status": "joined", "page_size": 100}, headers=host
    )
    people = listed.json()["items"]
    assert listed.json()["total"] == 51
    assert sum(p["role"] == "host" for p in people) == 1
    admitted = {r.json()["user_id"] for r in answers if r.status_code == 200}
    assert {p["user_id"] for p in people} == admitted | {"teacher-1"}
    stats = (await client.get(f"{API}/{s['id']}/stats", headers=host)).json()
    assert stats["current_participants"] == 51
    assert stats["peak_participants"] == 51
