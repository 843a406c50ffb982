"""The hot endpoints (list, join) bind their request themselves (api/lean.py): the same rules,
errors and OpenAPI description as FastAPI gives a route that declares them in its signature."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import httpx
from fastapi import FastAPI, Query
from fastapi.routing import APIRoute

from liveclass.api import participants, polls, recordings, rtc, sessions
from liveclass.api.schemas import JoinBody, SessionQuery
from tests.api.helpers import create_session, live_session
from tests.conftest import Platform

API = "/api/v1/sessions"


def _fields(r: httpx.Response) -> list[str]:
    return [e["field"] for e in r.json()["errors"]]


async def test_list_query_last_value_wins_and_unknown_is_ignored(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    for _ in range(3):
        await create_session(client, platform)
    r = await client.get(
        f"{API}?page_size=1&page_size=2&colour=blue", headers=platform.auth("teacher-1", "teacher")
    )
    assert r.status_code == 200, r.text
    assert r.json()["page_size"] == 2
    assert len(r.json()["items"]) == 2
    assert r.json()["total"] == 3


async def test_list_query_errors_name_each_parameter(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    r = await client.get(
        f"{API}?page=0&from=1700000000&status=nope&sort=size",
        headers=platform.auth("teacher-1", "teacher"),
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert sorted(_fields(r)) == ["from", "page", "sort", "status"]


async def test_list_filters_bound_from_the_query(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    await live_session(client, platform, title="Algebra live")
    await create_session(client, platform, title="Algebra later", course_id="math-1")
    auth = platform.auth("teacher-1", "teacher")
    live = (await client.get(f"{API}?status=live", headers=auth)).json()
    assert [s["title"] for s in live["items"]] == ["Algebra live"]
    by_course = (await client.get(f"{API}?course_id=math-1&search=ALGEBRA", headers=auth)).json()
    assert [s["title"] for s in by_course["items"]] == ["Algebra later"]
    assert by_course["items"][0]["invite_token"]  # the owner sees the invite


async def test_list_requires_a_bearer_token(client: httpx.AsyncClient, platform: Platform) -> None:
    assert (await client.get(API)).json()["code"] == "TOKEN_MISSING"
    token = platform.token("teacher-1", "teacher")
    basic = await client.get(API, headers={"Authorization": f"Basic {token}"})
    assert basic.status_code == 401
    assert basic.json()["code"] == "TOKEN_MISSING"
    lower = await client.get(API, headers={"Authorization": f"bearer {token}"})
    assert lower.status_code == 200
    wrong = await client.get(API, headers={"Authorization": "Bearer not-a-jwt"})
    assert wrong.status_code == 401
    assert wrong.json()["code"] != "TOKEN_MISSING"


async def test_join_body_rules(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await live_session(client, platform)
    url = f"{API}/{s['id']}/join"
    auth = platform.auth("student-1", "student")
    json_type = {**auth, "Content-Type": "application/json"}
    assert (await client.post(url, headers=auth)).status_code == 200  # no body at all
    assert (await client.post(url, content=b"null", headers=json_type)).status_code == 200
    assert (await client.post(url, content=b"{}", headers=auth)).status_code == 200  # no type
    vendor = {**auth, "Content-Type": "application/vnd.api+json"}
    assert (await client.post(url, content=b"{}", headers=vendor)).status_code == 200

    malformed = await client.post(url, content=b'{"password": ', headers=json_type)
    assert malformed.status_code == 400
    assert malformed.json()["code"] == "MALFORMED_JSON"
    unknown = await client.post(url, json={"colour": "blue"}, headers=auth)
    assert unknown.status_code == 422
    assert _fields(unknown) == ["colour"]
    text = {**auth, "Content-Type": "text/plain"}
    as_text = await client.post(url, content=b"{}", headers=text)
    assert as_text.status_code == 422
    assert as_text.json()["code"] == "VALIDATION_ERROR"


async def test_join_path_must_be_a_uuid(client: httpx.AsyncClient, platform: Platform) -> None:
    auth = platform.auth("student-1", "student")
    r = await client.post(f"{API}/not-a-uuid/join", headers=auth)
    assert r.status_code == 422
    assert _fields(r) == ["session_id"]
    missing = await client.post(f"{API}/{uuid.uuid4()}/join", headers=auth)
    assert missing.status_code == 404


def _signature_document() -> dict[str, Any]:
    """What FastAPI itself documents for the same models declared in a signature."""
    reference = FastAPI()

    @reference.get("/list")
    async def listed(query: Annotated[SessionQuery, Query()]) -> None:
        return None

    @reference.post("/join/{session_id}")
    async def joined(session_id: uuid.UUID, body: JoinBody | None = None) -> None:
        return None

    return reference.openapi()


async def test_openapi_documents_the_bound_request_as_fastapi_would(app: FastAPI) -> None:
    ours = app.openapi()["paths"]
    reference = _signature_document()["paths"]
    listed = ours[API]["get"]
    assert listed["parameters"] == reference["/list"]["get"]["parameters"]
    assert listed["security"] == [{"HTTPBearer": []}]
    joined = ours[API + "/{session_id}/join"]["post"]
    expected = reference["/join/{session_id}"]["post"]
    assert joined["parameters"] == expected["parameters"]
    assert joined["requestBody"]["content"] == expected["requestBody"]["content"]
    assert joined["security"] == [{"HTTPBearer": []}]
    assert "JoinBody" in app.openapi()["components"]["schemas"]
    refresh = ours[API + "/{session_id}/token"]["post"]
    assert refresh["parameters"] == expected["parameters"]
    assert refresh["security"] == [{"HTTPBearer": []}]
    assert "requestBody" not in refresh


async def test_token_refresh_binding(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await live_session(client, platform)
    other = await live_session(client, platform)
    joined = await client.post(
        f"{API}/{s['id']}/join", headers=platform.auth("student-1", "student")
    )
    access = {"Authorization": f"Bearer {joined.json()['access_token']}"}
    url = f"{API}/{s['id']}/token"
    fresh = await client.post(url, headers=access)
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["participant_id"] == joined.json()["participant_id"]

    missing = await client.post(url)
    assert (missing.status_code, missing.json()["code"]) == (401, "TOKEN_MISSING")
    platform_jwt = await client.post(url, headers=platform.auth("student-1", "student"))
    assert (platform_jwt.status_code, platform_jwt.json()["code"]) == (401, "TOKEN_INVALID")
    elsewhere = await client.post(f"{API}/{other['id']}/token", headers=access)
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (401, "TOKEN_INVALID")
    bad_path = await client.post(f"{API}/nope/token", headers=access)
    assert bad_path.status_code == 422
    assert _fields(bad_path) == ["session_id"]


async def test_openapi_join_body_component_is_fastapis(app: FastAPI) -> None:
    # the hand-bound join documents JoinBody itself (lean.document_components): the schema
    # must be the one FastAPI would put there, seed 001's fields included
    ours = app.openapi()["components"]["schemas"]
    reference = _signature_document()["components"]["schemas"]
    assert ours["JoinBody"] == reference["JoinBody"]
    assert {"session_id", "display_name"} <= set(ours["JoinBody"]["properties"])


def test_each_hand_bound_route_is_bound_only_here() -> None:
    # a route bound here must leave FastAPI nothing to solve (no parameter, body or
    # dependency of its own), else its request would be bound, and validated, twice
    by_hand = {}
    for router in (
        sessions.router,
        participants.router,
        polls.router,
        recordings.router,
        rtc.router,
    ):
        for route in router.routes:
            if isinstance(route, APIRoute) and route.openapi_extra:
                for method in route.methods or ():
                    by_hand[f"{method} {route.path}"] = route.dependant
    assert sorted(by_hand) == [
        "GET /sessions",
        "POST /sessions/{session_id}/join",
        "POST /sessions/{session_id}/token",
    ]
    for name, dependant in by_hand.items():
        solved = [
            *dependant.path_params,
            *dependant.query_params,
            *dependant.header_params,
            *dependant.cookie_params,
            *dependant.body_params,
            *dependant.dependencies,
        ]
        assert solved == [], name
        assert dependant.request_param_name == "request", name
