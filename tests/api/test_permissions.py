"""The permission table (DESIGN.md): every action against every role, allow or deny.

The world of each case is one live, private session owned by ``owner`` with a co-host, a
speaker, a viewer (who all came in with the invite), a ``target`` viewer and a ``waiter`` in the
waiting room. Denials are exact: 401 without a token, 403 for members, 403/404 for strangers
(a private session answers strangers like a missing one).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest

from tests.conftest import Platform

API = "/api/v1/sessions"
ROLES = ("admin", "host", "co_host", "speaker", "viewer", "other", "none")


@dataclass(frozen=True)
class World:
    session_id: str
    invite: str
    target: str  # participant id of a viewer
    waiter: str  # participant id of someone in the waiting room


def _headers(platform: Platform, role: str) -> dict[str, str]:
    users = {
        "admin": ("root", "admin"),
        "host": ("owner", "teacher"),
        "co_host": ("co", "student"),
        "speaker": ("sp", "student"),
        "viewer": ("vw", "student"),
        "other": ("stranger", "teacher"),
    }
    if role == "none":
        return {}
    sub, platform_role = users[role]
    return platform.auth(sub, platform_role)


async def _world(client: httpx.AsyncClient, platform: Platform) -> World:
    owner = _headers(platform, "host")
    r = await client.post(
        API,
        json={"title": "Private class", "scheduled_at": "2031-01-01T10:00:00Z", "is_public": False},
        headers=owner,
    )
    s = r.json()
    sid, invite = s["id"], s["invite_token"]
    assert (await client.post(f"{API}/{sid}/start", headers=owner)).status_code == 200

    async def enter(sub: str) -> str:
        joined = await client.post(
            f"{API}/{sid}/join",
            json={"invite_token": invite},
            headers=platform.auth(sub, "student"),
        )
        assert joined.status_code == 200, joined.text
        pid: str = joined.json()["participant_id"]
        return pid

    for sub, role in (("co", "co_host"), ("sp", "speaker"), ("vw", "viewer")):
        pid = await enter(sub)
        changed = await client.patch(
            f"{API}/{sid}/participants/{pid}", json={"role": role}, headers=owner
        )
        assert changed.status_code == 200, changed.text
    target = await enter("target")
    await client.patch(f"{API}/{sid}", json={"waiting_room": True}, headers=owner)
    waiter = await enter("waiter")
    return World(sid, invite, target, waiter)


Action = Callable[[httpx.AsyncClient, World, dict[str, str]], Awaitable[httpx.Response]]


def _post(path: str, body: dict[str, object] | None = None) -> Action:
    async def run(c: httpx.AsyncClient, w: World, h: dict[str, str]) -> httpx.Response:
        url = f"{API}/{w.session_id}{path.format(target=w.target, waiter=w.waiter)}"
        return await c.post(url, json=body, headers=h)

    return run


async def _update(c: httpx.AsyncClient, w: World, h: dict[str, str]) -> httpx.Response:
    return await c.patch(f"{API}/{w.session_id}", json={"title": "Renamed"}, headers=h)


async def _stats(c: httpx.AsyncClient, w: World, h: dict[str, str]) -> httpx.Response:
    return await c.get(f"{API}/{w.session_id}/stats", headers=h)


async def _change_role(c: httpx.AsyncClient, w: World, h: dict[str, str]) -> httpx.Response:
    url = f"{API}/{w.session_id}/participants/{w.target}"
    return await c.patch(url, json={"role": "speaker"}, headers=h)


async def _join_with_invite(c: httpx.AsyncClient, w: World, h: dict[str, str]) -> httpx.Response:
    return await c.post(f"{API}/{w.session_id}/join", json={"invite_token": w.invite}, headers=h)


async def _list_polls(c: httpx.AsyncClient, w: World, h: dict[str, str]) -> httpx.Response:
    return await c.get(f"{API}/{w.session_id}/polls", headers=h)


ACTIONS: dict[str, Action] = {
    "update": _update,
    "cancel": _post("/cancel"),
    "start": _post("/start"),
    "end": _post("/end"),
    "rotate_invite": _post("/invite/rotate"),
    "stats": _stats,
    "change_role": _change_role,
    "kick": _post("/participants/{target}/kick"),
    "admit": _post("/participants/{waiter}/admit"),
    "join_private": _post("/join"),  # no invite: only those already admitted, and hosts
    "join_private_invited": _join_with_invite,
    "create_poll": _post("/polls", {"question": "Ready?", "options": ["yes", "no"]}),
    "list_polls": _list_polls,
}

Y, N = True, False
#                          admin host co_host speaker viewer other none
TABLE: dict[str, tuple[bool, ...]] = {
    "update":               (Y,   Y,   N,      N,      N,     N,    N),
    "cancel":               (Y,   Y,   N,      N,      N,     N,    N),
    "start":                (Y,   Y,   N,      N,      N,     N,    N),
    "end":                  (Y,   Y,   N,      N,      N,     N,    N),
    "rotate_invite":        (Y,   Y,   N,      N,      N,     N,    N),
    "stats":                (Y,   Y,   N,      N,      N,     N,    N),
    "change_role":          (Y,   Y,   Y,      N,      N,     N,    N),
    "kick":                 (Y,   Y,   Y,      N,      N,     N,    N),
    "admit":                (Y,   Y,   Y,      N,      N,     N,    N),
    "join_private":         (Y,   Y,   Y,      Y,      Y,     N,    N),
    "join_private_invited": (Y,   Y,   Y,      Y,      Y,     Y,    N),
    "create_poll":          (Y,   Y,   Y,      N,      N,     N,    N),
    "list_polls":           (Y,   Y,   Y,      Y,      Y,     N,    N),
}  # fmt: skip

# What "allowed" looks like where the state has the last word: a live session cannot be
# cancelled, so an allowed cancel is refused by the lifecycle (409), never by permission.
ALLOWED_STATUS = {"cancel": 409, "create_poll": 201}

CASES = [
    pytest.param(action, role, TABLE[action][i], id=f"{action}-{role}")
    for action in ACTIONS
    for i, role in enumerate(ROLES)
]


def test_table_covers_every_action() -> None:
    assert set(TABLE) == set(ACTIONS)
    assert all(len(row) == len(ROLES) for row in TABLE.values())


@pytest.mark.parametrize(("action", "role", "allowed"), CASES)
async def test_permission(
    client: httpx.AsyncClient, platform: Platform, action: str, role: str, allowed: bool
) -> None:
    world = await _world(client, platform)
    r = await ACTIONS[action](client, world, _headers(platform, role))
    if allowed:
        assert r.status_code == ALLOWED_STATUS.get(action, 200), r.text
        if action == "cancel":
            assert r.json()["code"] == "INVALID_STATE"
        return
    assert r.headers["content-type"] == "application/problem+json"
    if role == "none":
        assert r.status_code == 401, r.text
    elif role == "other":
        assert r.status_code in (403, 404), r.text
    else:
        assert r.status_code == 403, r.text
