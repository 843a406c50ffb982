"""Create-or-get by ``booking_id`` and replayed creates with an ``Idempotency-Key``."""

from __future__ import annotations

import asyncio

import httpx

from tests.api.helpers import session_body
from tests.conftest import Platform

API = "/api/v1/sessions"


async def test_idempotency_key_returns_same_session(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    headers = {**platform.auth("t1", "teacher"), "Idempotency-Key": "k-1"}
    body = session_body()
    first = await client.post(API, json=body, headers=headers)
    second = await client.post(API, json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json()["id"] == first.json()["id"]
    listed = await client.get(API, headers=platform.auth("t1", "teacher"))
    assert listed.json()["total"] == 1


async def test_idempotency_key_with_other_body(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    headers = {**platform.auth("t1", "teacher"), "Idempotency-Key": "k-1"}
    await client.post(API, json=session_body(), headers=headers)
    r = await client.post(API, json=session_body(title="Different"), headers=headers)
    assert r.status_code == 409
    assert r.json()["code"] == "IDEMPOTENCY_KEY_REUSED"


async def test_idempotency_keys_are_per_user(client: httpx.AsyncClient, platform: Platform) -> None:
    body = session_body()
    a = await client.post(
        API, json=body, headers={**platform.auth("t1", "teacher"), "Idempotency-Key": "k"}
    )
    b = await client.post(
        API, json=body, headers={**platform.auth("t2", "teacher"), "Idempotency-Key": "k"}
    )
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]
    assert b.json()["owner_id"] == "t2"


async def test_without_key_two_sessions(client: httpx.AsyncClient, platform: Platform) -> None:
    body = session_body()
    a = await client.post(API, json=body, headers=platform.auth("t1", "teacher"))
    b = await client.post(API, json=body, headers=platform.auth("t1", "teacher"))
    assert a.json()["id"] != b.json()["id"]


async def test_booking_create_or_get(client: httpx.AsyncClient, platform: Platform) -> None:
    headers = platform.auth("t1", "teacher")
    first = await client.post(API, json=session_body(booking_id="bk-9"), headers=headers)
    assert first.status_code == 201
    again = await client.post(
        API, json=session_body(booking_id="bk-9", title="Other title"), headers=headers
    )
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["title"] == first.json()["title"]


async def test_booking_of_another_host(client: httpx.AsyncClient, platform: Platform) -> None:
    await client.post(
        API, json=session_body(booking_id="bk"), headers=platform.auth("t1", "teacher")
    )
    r = await client.post(
        API, json=session_body(booking_id="bk"), headers=platform.auth("t2", "teacher")
    )
    assert r.status_code == 409
    assert r.json()["code"] == "BOOKING_TAKEN"
    admin = await client.post(
        API, json=session_body(booking_id="bk"), headers=platform.auth("root", "admin")
    )
    assert admin.status_code == 200
    assert admin.json()["owner_id"] == "t1"


async def test_concurrent_booking_creates_make_one_session(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    headers = platform.auth("t1", "teacher")
    body = session_body(booking_id="bk-race")
    answers = await asyncio.gather(
        *(client.post(API, json=body, headers=headers) for _ in range(20))
    )
    assert sorted(r.status_code for r in answers) == [200] * 19 + [201], [r.text for r in answers]
    assert len({r.json()["id"] for r in answers}) == 1
