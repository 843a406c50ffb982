"""Valid ISO 8601 instants at the ends of what Python can hold answer a field error, not a
500: every instant entering the API lies in the years 1970 to 9000 and is turned into UTC at
the edge (schemas.UtcDateTime, schemas.UtcDateTimeFilter)."""

from __future__ import annotations

import httpx
import pytest

from tests.api.helpers import create_session, session_body
from tests.conftest import Platform

API = "/api/v1/sessions"

EXTREMES = [
    "9999-12-31T23:59:59-14:00",  # UTC would be past year 9999
    "0001-01-01T00:00:00+14:00",  # UTC would be before year 1
    "9999-12-31T23:59:59+00:00",  # the slot's end (+ duration) would be past year 9999
    "9000-12-31T23:59:59-14:00",  # in UTC, past the last accepted year
]


def _host(platform: Platform) -> dict[str, str]:
    return platform.auth("teacher-1", "teacher")


def _field_error(r: httpx.Response, field: str) -> None:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "VALIDATION_ERROR"
    assert [e["field"] for e in r.json()["errors"]] == [field]
    assert "years 1970 to 9000" in r.json()["errors"][0]["message"]


@pytest.mark.parametrize("at", EXTREMES)
async def test_create(client: httpx.AsyncClient, platform: Platform, at: str) -> None:
    r = await client.post(API, json=session_body(scheduled_at=at), headers=_host(platform))
    _field_error(r, "scheduled_at")


@pytest.mark.parametrize("at", EXTREMES)
async def test_update_and_replace(client: httpx.AsyncClient, platform: Platform, at: str) -> None:
    s = await create_session(client, platform)
    url = f"{API}/{s['id']}"
    patched = await client.patch(url, json={"scheduled_at": at}, headers=_host(platform))
    _field_error(patched, "scheduled_at")
    put = await client.put(url, json=session_body(scheduled_at=at), headers=_host(platform))
    _field_error(put, "scheduled_at")
    unchanged = await client.get(url, headers=_host(platform))
    assert unchanged.json()["scheduled_at"] == s["scheduled_at"]


@pytest.mark.parametrize("param", ["from", "to"])
@pytest.mark.parametrize("at", [*EXTREMES, "9999-12-31T23:59:59", "0001-01-01"])
async def test_list_filters(
    client: httpx.AsyncClient, platform: Platform, param: str, at: str
) -> None:
    r = await client.get(API, params={param: at}, headers=_host(platform))
    _field_error(r, param)


async def test_the_accepted_range_is_inclusive(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    s = await create_session(client, platform)
    auth = _host(platform)
    first, last = "1970-01-01T00:00:00Z", "9000-12-31T23:59:59Z"
    listed = await client.get(API, params={"from": first, "to": last}, headers=auth)
    assert [x["id"] for x in listed.json()["items"]] == [s["id"]]
    # the same first instant, written in another zone
    shifted = await client.get(API, params={"from": "1969-12-31T23:00:00-01:00"}, headers=auth)
    assert shifted.status_code == 200, shifted.text
    far = await client.patch(f"{API}/{s['id']}", json={"scheduled_at": last}, headers=auth)
    assert far.status_code == 200, far.text
    assert far.json()["scheduled_at"] == "9000-12-31T23:59:59Z"
    # just outside, by a second
    early = await client.get(API, params={"from": "1969-12-31T23:59:59Z"}, headers=auth)
    _field_error(early, "from")
    late = await client.patch(
        f"{API}/{s['id']}", json={"scheduled_at": "9001-01-01T00:00:00Z"}, headers=auth
    )
    _field_error(late, "scheduled_at")


async def test_a_zone_is_turned_into_utc(client: httpx.AsyncClient, platform: Platform) -> None:
    r = await client.post(
        API, json=session_body(scheduled_at="8999-06-01T20:00:00-14:00"), headers=_host(platform)
    )
    assert r.status_code == 201, r.text
    assert r.json()["scheduled_at"] == "8999-06-02T10:00:00Z"
    assert (await client.get(API, params={"to": "9000-01-01"}, headers=_host(platform))).json()[
        "total"
    ] == 1
    refused = await client.get(
        API, params={"to": "9000-12-31T23:00:00-14:00"}, headers=_host(platform)
    )
    _field_error(refused, "to")
