"""The platform's course, owner and booking ids are its own opaque text (or JSON integers,
taken as their text); absurd ones get a field error wherever they enter."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.helpers import create_session, session_body
from tests.conftest import Platform

API = "/api/v1/sessions"
# control characters, the one thing besides length and emptiness an id may not hold (NUL,
# refused since the start, is in tests/api/test_errors.py)
CONTROL = ["a\nb", "a\tb", "a\x1bb", "a\x7fb", "a\x85b"]


def _host(platform: Platform, sub: str = "teacher-1") -> dict[str, str]:
    return platform.auth(sub, "teacher")


def _field_error(r: httpx.Response, field: str) -> None:
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "VALIDATION_ERROR"
    assert [e["field"] for e in r.json()["errors"]] == [field]


SPELLINGS: list[tuple[Any, str]] = [
    ("algebra-101", "algebra-101"),
    ("course:42", "course:42"),
    ("7b0c0a4e-1111-4222-8333-444455556666", "7b0c0a4e-1111-4222-8333-444455556666"),
    ("c" * 128, "c" * 128),
    (42, "42"),
    (0, "0"),
]


async def test_course_ids_as_the_platform_spells_them(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    for given, kept in SPELLINGS:
        r = await client.post(API, json=session_body(course_id=given), headers=_host(platform))
        assert r.status_code == 201, r.text
        assert r.json()["course_id"] == kept
        listed = await client.get(API, params={"course_id": kept}, headers=_host(platform))
        assert [s["id"] for s in listed.json()["items"]] == [r.json()["id"]]
    # an integer is the same id as its text in an update too
    patched = await client.patch(
        f"{API}/{r.json()['id']}", json={"course_id": 43}, headers=_host(platform)
    )
    assert (patched.status_code, patched.json()["course_id"]) == (200, "43")


async def test_integer_booking_id_is_one_booking_with_its_text(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    first = await client.post(API, json=session_body(booking_id=7), headers=_host(platform))
    assert first.status_code == 201, first.text
    assert first.json()["booking_id"] == "7"
    again = await client.post(API, json=session_body(booking_id="7"), headers=_host(platform))
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
    other = await create_session(client, platform)
    put = await client.put(
        f"{API}/{other['id']}", json=session_body(booking_id=8), headers=_host(platform)
    )
    assert (put.status_code, put.json()["booking_id"]) == (200, "8")
    taken = await client.patch(
        f"{API}/{other['id']}", json={"booking_id": 7}, headers=_host(platform)
    )
    assert (taken.status_code, taken.json()["code"]) == (409, "BOOKING_TAKEN")


async def test_owner_id_filter_with_seed_001s_integer_owner(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    mine = await create_session(client, platform, owner="1")
    await create_session(client, platform, owner="2")
    listed = await client.get(API, params={"owner_id": 1}, headers=platform.auth("a", "admin"))
    assert [s["id"] for s in listed.json()["items"]] == [mine["id"]]
    empty = await client.get(API, params={"owner_id": ""}, headers=platform.auth("a", "admin"))
    _field_error(empty, "owner_id")


@pytest.mark.parametrize("field", ["course_id", "booking_id"])
@pytest.mark.parametrize("value", CONTROL)
async def test_control_characters_in_body_ids(
    client: httpx.AsyncClient, platform: Platform, field: str, value: str
) -> None:
    created = await client.post(API, json=session_body(**{field: value}), headers=_host(platform))
    _field_error(created, field)
    s = await create_session(client, platform)
    patched = await client.patch(f"{API}/{s['id']}", json={field: value}, headers=_host(platform))
    _field_error(patched, field)
    put = await client.put(
        f"{API}/{s['id']}", json=session_body(**{field: value}), headers=_host(platform)
    )
    _field_error(put, field)


@pytest.mark.parametrize("field", ["course_id", "booking_id"])
async def test_absurd_body_ids(client: httpx.AsyncClient, platform: Platform, field: str) -> None:
    for value in ["", "   ", "x" * 129, 10**130, True, 1.5, [], {}, "line\nbreak"]:
        r = await client.post(API, json=session_body(**{field: value}), headers=_host(platform))
        _field_error(r, field)


@pytest.mark.parametrize("param", ["course_id", "owner_id", "instructor"])
@pytest.mark.parametrize("value", ["", *CONTROL])
async def test_absurd_filter_ids(
    client: httpx.AsyncClient, platform: Platform, param: str, value: str
) -> None:
    r = await client.get(API, params={param: value}, headers=platform.auth("a", "admin"))
    _field_error(r, param)


async def test_openapi_documents_integer_ids(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    course = document["components"]["schemas"]["SessionCreate"]["properties"]["course_id"]
    kinds = {o.get("type") for o in course["anyOf"][0]["anyOf"]}
    assert kinds == {"string", "integer"}
    (owner,) = [p for p in document["paths"][API]["get"]["parameters"] if p["name"] == "owner_id"]
    assert "integer" in str(owner["schema"])
