from __future__ import annotations

import httpx

from tests.api.helpers import create_session, join, live_session
from tests.conftest import Platform


async def test_health_and_ready(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ready"}


async def test_create_start_join(client: httpx.AsyncClient, platform: Platform) -> None:
    session = await create_session(client, platform)
    assert session["status"] == "scheduled"
    live = await live_session(client, platform)
    r = await join(client, platform, live["id"], "student-1")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["role"] == "viewer"
    assert body["status"] == "joined"
    assert body["classroom_url"].startswith(f"http://testserver/classroom/{live['id']}#token=")
