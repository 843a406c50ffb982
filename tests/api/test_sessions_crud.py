"""Create, get, update (PATCH and PUT) and the field rules of a session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.api.helpers import create_session, future, session_body
from tests.conftest import Platform

API = "/api/v1/sessions"


async def test_create_returns_every_field(client: httpx.AsyncClient, platform: Platform) -> None:
    body = session_body(
        description="Linear equations",
        course_id="course-7",
        booking_id="booking-1",
        session_type="workshop",
        max_participants=12,
        is_public=False,
        is_recorded=True,
        waiting_room=True,
        password="s3cret-pass",
    )
    r = await client.post(API, json=body, headers=platform.auth("t1", "teacher", name="Tess"))
    assert r.status_code == 201, r.text
    s = r.json()
    assert s["title"] == "Algebra 101"
    assert s["description"] == "Linear equations"
    assert s["course_id"] == "course-7"
    assert s["booking_id"] == "booking-1"
    assert s["session_type"] == "workshop"
    assert s["status"] == "scheduled"
    assert s["duration"] == 60
    assert s["max_participants"] == 12
    assert (s["is_public"], s["is_recorded"], s["waiting_room"]) == (False, True, True)
    assert s["has_password"] is True
    assert "password" not in s and "password_hash" not in s
    assert s["provider"] == "mesh"
    assert (s["owner_id"], s["owner_name"]) == ("t1", "Tess")
    assert s["meeting_url"] == f"http://testserver/classroom/{s['id']}"
    assert s["invite_token"]
    assert s["invite_url"].endswith(f"?invite={s['invite_token']}")
    assert s["started_at"] is None and s["ended_at"] is None and s["end_reason"] is None
    assert s["created_at"] and s["updated_at"]


async def test_defaults(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await create_session(client, platform, duration=15)
    assert s["max_participants"] == 100
    assert s["session_type"] == "lesson"
    assert s["provider"] == "mesh"
    assert s["is_public"] is True
    assert s["has_password"] is False
    assert s["default_role"] == "viewer"


@pytest.mark.parametrize("role", ["admin", "teacher", "mentor", "instructor"])
async def test_creator_roles(client: httpx.AsyncClient, platform: Platform, role: str) -> None:
    r = await client.post(API, json=session_body(), headers=platform.auth("u1", role))
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("roles", [("student",), (), ("guest", "parent")])
async def test_others_cannot_create(
    client: httpx.AsyncClient, platform: Platform, roles: tuple[str, ...]
) -> None:
    r = await client.post(API, json=session_body(), headers=platform.auth("u1", *roles))
    assert r.status_code == 403
    assert r.json()["code"] == "NOT_INSTRUCTOR"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "ab"),
        ("title", "x" * 201),
        ("title", "   a  "),
        ("description", "d" * 1001),
        ("duration", 14),
        ("duration", 481),
        ("max_participants", 0),
        ("max_participants", 1001),
        ("session_type", "party"),
        ("provider", "skype"),
        ("password", "abc"),
        ("scheduled_at", "2020-01-01T10:00:00Z"),
        ("scheduled_at", "2030-01-01T10:00:00"),  # no zone: ambiguous
        ("scheduled_at", "tomorrow"),
        ("default_role", "host"),
    ],
)
async def test_field_rules(
    client: httpx.AsyncClient, platform: Platform, field: str, value: Any
) -> None:
    r = await client.post(
        API, json=session_body(**{field: value}), headers=platform.auth("t", "teacher")
    )
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["code"] == "VALIDATION_ERROR"
    assert field in [e["field"] for e in problem["errors"]]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "abc"),
        ("title", "x" * 200),
        ("description", "d" * 1000),
        ("duration", 480),
        ("max_participants", 1000),
        ("max_participants", 1),
    ],
)
async def test_field_bounds_accepted(
    client: httpx.AsyncClient, platform: Platform, field: str, value: Any
) -> None:
    s = await create_session(client, platform, **{field: value})
    wire = "duration" if field == "duration" else field
    assert s[wire] == value


async def test_get(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await create_session(client, platform)
    r = await client.get(f"{API}/{s['id']}", headers=platform.auth("student-1", "student"))
    assert r.status_code == 200
    got = r.json()
    assert got["id"] == s["id"]
    assert got["invite_token"] is None  # only the host and admins see it
    owner = await client.get(f"{API}/{s['id']}", headers=platform.auth("teacher-1", "teacher"))
    assert owner.json()["invite_token"] == s["invite_token"]


async def test_get_missing_is_404(client: httpx.AsyncClient, platform: Platform) -> None:
    r = await client.get(
        f"{API}/00000000-0000-4000-8000-000000000000", headers=platform.auth("a", "admin")
    )
    assert r.status_code == 404
    assert r.json()["code"] == "SESSION_NOT_FOUND"


async def test_private_session_hidden_from_strangers(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    s = await create_session(client, platform, is_public=False)
    r = await client.get(f"{API}/{s['id']}", headers=platform.auth("stranger", "student"))
    assert r.status_code == 404
    admin = await client.get(f"{API}/{s['id']}", headers=platform.auth("boss", "admin"))
    assert admin.status_code == 200


async def test_patch_changes_only_given_fields(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    s = await create_session(client, platform, description="old", course_id="c1")
    new_time = future(90)
    r = await client.patch(
        f"{API}/{s['id']}",
        json={"title": "Geometry", "scheduled_at": new_time, "max_participants": 5},
        headers=platform.auth("teacher-1", "teacher"),
    )
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["title"] == "Geometry"
    assert got["max_participants"] == 5
    assert datetime.fromisoformat(got["scheduled_at"]) == datetime.fromisoformat(new_time)
    assert got["description"] == "old" and got["course_id"] == "c1"
    again = await client.get(f"{API}/{s['id']}", headers=platform.auth("teacher-1", "teacher"))
    assert again.json()["title"] == "Geometry"


async def test_patch_password_set_and_remove(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await create_session(client, platform)
    host = platform.auth("teacher-1", "teacher")
    r = await client.patch(f"{API}/{s['id']}", json={"password": "pass-1234"}, headers=host)
    assert r.json()["has_password"] is True
    r = await client.patch(f"{API}/{s['id']}", json={"password": None}, headers=host)
    assert r.json()["has_password"] is False


@pytest.mark.parametrize("field", ["title", "duration", "is_public", "scheduled_at"])
async def test_patch_null_for_required_field(
    client: httpx.AsyncClient, platform: Platform, field: str
) -> None:
    s = await create_session(client, platform)
    r = await client.patch(
        f"{API}/{s['id']}", json={field: None}, headers=platform.auth("teacher-1", "teacher")
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == field


async def test_patch_validates(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await create_session(client, platform)
    host = platform.auth("teacher-1", "teacher")
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    r = await client.patch(f"{API}/{s['id']}", json={"scheduled_at": past}, headers=host)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "scheduled_at"
    r = await client.patch(f"{API}/{s['id']}", json={"duration": 9}, headers=host)
    assert r.status_code == 422


async def test_patch_booking_taken(client: httpx.AsyncClient, platform: Platform) -> None:
    await create_session(client, platform, booking_id="b-1")
    s = await create_session(client, platform, booking_id="b-2")
    r = await client.patch(
        f"{API}/{s['id']}",
        json={"booking_id": "b-1"},
        headers=platform.auth("teacher-1", "teacher"),
    )
    assert r.status_code == 409
    assert r.json()["code"] == "BOOKING_TAKEN"


async def test_put_replaces(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await create_session(client, platform, description="old", password="pass-1234")
    r = await client.put(
        f"{API}/{s['id']}",
        json=session_body(title="Replaced", duration=30),
        headers=platform.auth("teacher-1", "teacher"),
    )
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["title"] == "Replaced"
    assert got["duration"] == 30
    assert got["description"] is None
    assert got["has_password"] is False


async def test_ended_session_cannot_change(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await create_session(client, platform)
    host = platform.auth("teacher-1", "teacher")
    await client.post(f"{API}/{s['id']}/cancel", headers=host)
    r = await client.patch(f"{API}/{s['id']}", json={"title": "Again"}, headers=host)
    assert r.status_code == 409
    assert r.json()["code"] == "INVALID_STATE"
