"""``GET /sessions``: filters, search, sort, pagination and its limits."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.helpers import create_session, future
from tests.conftest import Platform

API = "/api/v1/sessions"


async def _titles(client: httpx.AsyncClient, platform: Platform, **params: Any) -> list[str]:
    r = await client.get(API, params=params, headers=platform.auth("root", "admin"))
    assert r.status_code == 200, r.text
    return [s["title"] for s in r.json()["items"]]


@pytest.fixture
async def catalogue(client: httpx.AsyncClient, platform: Platform) -> dict[str, dict[str, Any]]:
    """Five sessions differing in every filtered field."""
    made = {
        "Alpha algebra": await create_session(
            client,
            platform,
            "t-a",
            title="Alpha algebra",
            course_id="math",
            session_type="lesson",
            scheduled_at=future(60),
        ),
        "Beta biology": await create_session(
            client,
            platform,
            "t-b",
            title="Beta biology",
            course_id="bio",
            session_type="workshop",
            scheduled_at=future(120),
            is_public=False,
        ),
        "Gamma geometry": await create_session(
            client,
            platform,
            "t-a",
            title="Gamma geometry",
            course_id="math",
            session_type="coding",
            scheduled_at=future(180),
        ),
        "Delta drawing": await create_session(
            client,
            platform,
            "t-c",
            title="Delta drawing",
            course_id="art",
            session_type="interview",
            scheduled_at=future(240),
        ),
        "Epsilon 100%_off": await create_session(
            client,
            platform,
            "t-c",
            title="Epsilon 100%_off",
            course_id="art",
            session_type="teaching",
            scheduled_at=future(300),
        ),
    }
    admin = platform.auth("root", "admin")
    await client.post(f"{API}/{made['Gamma geometry']['id']}/start", headers=admin)
    await client.post(f"{API}/{made['Delta drawing']['id']}/cancel", headers=admin)
    return made


ALL = ["Alpha algebra", "Beta biology", "Gamma geometry", "Delta drawing", "Epsilon 100%_off"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ALL),
        ({"course_id": "math"}, ["Alpha algebra", "Gamma geometry"]),
        ({"owner_id": "t-c"}, ["Delta drawing", "Epsilon 100%_off"]),
        ({"instructor": "t-a"}, ["Alpha algebra", "Gamma geometry"]),
        ({"status": "live"}, ["Gamma geometry"]),
        ({"status": "cancelled"}, ["Delta drawing"]),
        ({"status": "scheduled", "course_id": "art"}, ["Epsilon 100%_off"]),
        ({"session_type": "workshop"}, ["Beta biology"]),
        ({"is_public": "false"}, ["Beta biology"]),
        ({"is_public": "true", "course_id": "math"}, ["Alpha algebra", "Gamma geometry"]),
        ({"search": "GEOM"}, ["Gamma geometry"]),
        ({"search": "a"}, ["Alpha algebra", "Beta biology", "Gamma geometry", "Delta drawing"]),
        ({"search": "%"}, ["Epsilon 100%_off"]),
        ({"search": "_"}, ["Epsilon 100%_off"]),
        ({"search": "nothing-like-this"}, []),
        ({"from": future(150)}, ["Gamma geometry", "Delta drawing", "Epsilon 100%_off"]),
        ({"to": future(150)}, ["Alpha algebra", "Beta biology"]),
        ({"from": future(90), "to": future(200)}, ["Beta biology", "Gamma geometry"]),
        ({"sort": "-scheduled_at"}, list(reversed(ALL))),
        ({"sort": "title"}, sorted(ALL)),
        ({"sort": "-title"}, sorted(ALL, reverse=True)),
        ({"sort": "created_at"}, ALL),
    ],
)
async def test_filters_and_sort(
    client: httpx.AsyncClient,
    platform: Platform,
    catalogue: dict[str, dict[str, Any]],
    params: dict[str, str],
    expected: list[str],
) -> None:
    assert await _titles(client, platform, **params) == expected


async def test_pagination_totals(
    client: httpx.AsyncClient, platform: Platform, catalogue: dict[str, dict[str, Any]]
) -> None:
    admin = platform.auth("root", "admin")
    pages = []
    for page in (1, 2, 3, 4):
        r = await client.get(API, params={"page": page, "page_size": 2}, headers=admin)
        body = r.json()
        assert (body["total"], body["page"], body["page_size"], body["total_pages"]) == (
            5,
            page,
            2,
            3,
        )
        pages.append([s["title"] for s in body["items"]])
    assert pages == [ALL[0:2], ALL[2:4], ALL[4:5], []]


async def test_default_page_size_is_20(client: httpx.AsyncClient, platform: Platform) -> None:
    r = await client.get(API, headers=platform.auth("root", "admin"))
    body = r.json()
    assert (body["page_size"], body["page"], body["total"], body["total_pages"]) == (20, 1, 0, 1)


async def test_private_sessions_listed_only_for_those_who_may_see(
    client: httpx.AsyncClient, platform: Platform, catalogue: dict[str, dict[str, Any]]
) -> None:
    stranger = await client.get(API, headers=platform.auth("s1", "student"))
    assert "Beta biology" not in [s["title"] for s in stranger.json()["items"]]
    assert stranger.json()["total"] == 4
    owner = await client.get(API, headers=platform.auth("t-b", "teacher"))
    assert "Beta biology" in [s["title"] for s in owner.json()["items"]]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page_size": "101"}, "page_size"),
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "1000000000000"}, "page_size"),
        ({"page": "0"}, "page"),
        ({"page": "-3"}, "page"),
        ({"page": "x"}, "page"),
        ({"status": "sleeping"}, "status"),
        ({"sort": "password_hash"}, "sort"),
        ({"from": "not-a-date"}, "from"),
        ({"to": "0.5"}, "to"),
        ({"from": "1700000000"}, "from"),
        ({"is_public": "maybe"}, "is_public"),
        ({"search": "s" * 201}, "search"),
    ],
)
async def test_bad_parameters(
    client: httpx.AsyncClient, platform: Platform, params: dict[str, str], field: str
) -> None:
    r = await client.get(API, params=params, headers=platform.auth("root", "admin"))
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["errors"]]


@pytest.mark.parametrize("value", ["2026-01-01T00:00:00", "2026-01-01"])
async def test_dates_without_zone_are_utc(
    client: httpx.AsyncClient, platform: Platform, value: str
) -> None:
    await create_session(client, platform)
    r = await client.get(API, params={"from": value}, headers=platform.auth("root", "admin"))
    assert r.status_code == 200, r.text
    assert r.json()["total"] == 1


async def test_a_listed_session_follows_its_changes_and_its_caller(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    """A listing shows each session as it is now, to this caller: a change of the session
    (title, start, a rotated invite) shows at once, and the owner's invite is not shown to
    another caller who lists the same unchanged row (listed items are rendered once per row
    and caller's rights, api/views.py)."""
    made = await create_session(client, platform, "t-a", title="First title")
    sid = made["id"]
    owner = platform.auth("t-a", "teacher")

    async def listed(headers: dict[str, str]) -> dict[str, Any]:
        r = await client.get(API, headers=headers)
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = [s for s in r.json()["items"] if s["id"] == sid]
        (item,) = items
        return item

    first = await listed(owner)
    assert first["title"] == "First title" and first["invite_token"]
    assert (await listed(platform.auth("s1", "student")))["invite_token"] is None

    r = await client.patch(f"{API}/{sid}", json={"title": "Second title"}, headers=owner)
    assert r.status_code == 200, r.text
    renamed = await listed(owner)
    assert renamed["title"] == "Second title"
    assert renamed["updated_at"] != first["updated_at"]

    r = await client.post(f"{API}/{sid}/invite/rotate", headers=owner)
    assert r.status_code == 200, r.text
    rotated = await listed(owner)
    assert rotated["invite_token"] == r.json()["invite_token"] != first["invite_token"]
    assert rotated["invite_url"].endswith(rotated["invite_token"])

    r = await client.post(f"{API}/{sid}/start", headers=owner)
    assert r.status_code == 200, r.text
    started = await listed(owner)
    assert started["status"] == "live" and started["started_at"] is not None
    assert (await listed(platform.auth("root", "admin")))["status"] == "live"
