"""Participant routes name a person by participant id or by the platform's user id (seed 001
writes ``/participants/{user_id}``); a participant id comes first."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.api.helpers import join, live_session
from tests.conftest import Platform

API = "/api/v1/sessions"


def _host(platform: Platform) -> dict[str, str]:
    return platform.auth("teacher-1", "teacher")


async def _people(client: httpx.AsyncClient, platform: Platform, sid: str) -> dict[str, str]:
    """user id -> status, as the participant list says."""
    listed = await client.get(f"{API}/{sid}/participants", headers=_host(platform))
    return {p["user_id"]: p["status"] for p in listed.json()["items"]}


@pytest.mark.parametrize("user", ["student-1", "42", "course:42", "ada@school.test"])
async def test_role_and_kick_by_user_id(
    client: httpx.AsyncClient, platform: Platform, user: str
) -> None:
    s = await live_session(client, platform)
    me = (await join(client, platform, s["id"], user)).json()
    base = f"{API}/{s['id']}/participants"
    r = await client.patch(f"{base}/{user}", json={"role": "speaker"}, headers=_host(platform))
    assert r.status_code == 200, r.text
    assert (r.json()["id"], r.json()["role"]) == (me["participant_id"], "speaker")
    kicked = await client.post(f"{base}/{user}/kick", headers=_host(platform))
    assert kicked.status_code == 200, kicked.text
    assert (kicked.json()["id"], kicked.json()["status"]) == (me["participant_id"], "kicked")


async def test_admit_by_user_id(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await live_session(client, platform, waiting_room=True)
    await join(client, platform, s["id"], "student-1")
    await join(client, platform, s["id"], "student-2")
    base = f"{API}/{s['id']}/participants"
    admitted = await client.post(f"{base}/student-1/admit", headers=_host(platform))
    assert (admitted.status_code, admitted.json()["status"]) == (200, "joined")
    denied = await client.post(
        f"{base}/student-2/admit", json={"admit": False}, headers=_host(platform)
    )
    assert (denied.status_code, denied.json()["status"]) == (200, "denied")
    assert await _people(client, platform, s["id"]) == {
        "student-1": "joined",
        "student-2": "denied",
    }


async def test_unknown_user_id_is_not_found(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await live_session(client, platform)
    elsewhere = await live_session(client, platform)
    await join(client, platform, elsewhere["id"], "student-9")
    base = f"{API}/{s['id']}/participants"
    for user in ("nobody", "student-9", str(uuid.uuid4())):
        r = await client.post(f"{base}/{user}/kick", headers=_host(platform))
        assert r.status_code == 404, r.text
        assert r.json()["code"] == "PARTICIPANT_NOT_FOUND"


async def test_a_moderator_only_learns_of_people_when_moderating(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    # a viewer probing user ids gets the same refusal whether the person is there or not
    s = await live_session(client, platform)
    await join(client, platform, s["id"], "student-1")
    await join(client, platform, s["id"], "student-2")
    as_viewer = platform.auth("student-2", "student")
    base = f"{API}/{s['id']}/participants"
    there = await client.post(f"{base}/student-1/kick", headers=as_viewer)
    absent = await client.post(f"{base}/nobody/kick", headers=as_viewer)
    assert there.status_code == absent.status_code == 403
    assert there.json()["code"] == absent.json()["code"]


async def test_uuid_user_ids(client: httpx.AsyncClient, platform: Platform) -> None:
    s = await live_session(client, platform)
    user = str(uuid.uuid4())
    me = (await join(client, platform, s["id"], user)).json()
    assert me["participant_id"] != user
    base = f"{API}/{s['id']}/participants"
    by_user = await client.patch(
        f"{base}/{user}", json={"role": "speaker"}, headers=_host(platform)
    )
    assert (by_user.status_code, by_user.json()["id"]) == (200, me["participant_id"])
    by_id = await client.patch(
        f"{base}/{me['participant_id']}", json={"role": "viewer"}, headers=_host(platform)
    )
    assert (by_id.status_code, by_id.json()["role"]) == (200, "viewer")

    # a platform user whose id is, by whatever chance, another person's participant id:
    # the participant id comes first
    first = (await join(client, platform, s["id"], "student-1")).json()
    twin = (await join(client, platform, s["id"], first["participant_id"])).json()
    r = await client.post(f"{base}/{first['participant_id']}/kick", headers=_host(platform))
    assert r.status_code == 200, r.text
    assert (r.json()["id"], r.json()["user_id"]) == (first["participant_id"], "student-1")
    assert await _people(client, platform, s["id"]) == {
        user: "joined",
        "student-1": "kicked",
        first["participant_id"]: "joined",
    }
    # the twin stays reachable by their own participant id
    theirs = await client.post(f"{base}/{twin['participant_id']}/kick", headers=_host(platform))
    assert (theirs.status_code, theirs.json()["user_id"]) == (200, first["participant_id"])


async def test_openapi_says_both_ids_are_taken(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    kick = paths[API + "/{session_id}/participants/{participant_id}/kick"]["post"]
    (param,) = [p for p in kick["parameters"] if p["name"] == "participant_id"]
    assert param["schema"]["type"] == "string"
    assert "format" not in param["schema"]
    assert "user id" in param["description"]
