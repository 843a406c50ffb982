"""Fixtures for protocol tests: a real node on a loopback port and real WebSocket clients."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from liveclass.config import Settings
from tests.api.helpers import future, session_body
from tests.conftest import Platform, make_settings
from tests.realtime.server import serve
from tests.support.servers import free_port


@dataclass
class Node:
    base_url: str
    settings: Settings

    @property
    def ws_base(self) -> str:
        return self.base_url.replace("http://", "ws://")


@pytest.fixture
def node_settings(database_url: str) -> Settings:
    port = free_port()
    return make_settings(database_url, port=port, public_base_url=f"http://127.0.0.1:{port}")


@pytest.fixture
def node(node_settings: Settings) -> Iterator[Node]:
    with serve(node_settings) as url:
        yield Node(url, node_settings)


@pytest.fixture
async def api(node: Node) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=node.base_url, timeout=10) as client:
        yield client


class Peer:
    """One classroom socket, with the messages it received kept in order."""

    def __init__(self, ws: ClientConnection, join: dict[str, Any]) -> None:
        self.ws = ws
        self.join = join
        self.received: list[dict[str, Any]] = []
        self.closed = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    @property
    def pid(self) -> str:
        return str(self.join["participant_id"])

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                self.received.append(json.loads(raw))
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed.set()

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], within: float = 5.0
    ) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + within
        while True:
            for message in self.received:
                if predicate(message):
                    return message
            if asyncio.get_running_loop().time() > deadline:
                kinds = [m.get("type") for m in self.received]
                raise AssertionError(f"no matching message within {within}s; got {kinds}")
            await asyncio.sleep(0.01)

    async def wait_type(
        self, kind: str, *, within: float = 5.0, sender: str | None = None, **match: Any
    ) -> dict[str, Any]:
        """The first message of type ``kind`` with these fields (``sender``: its ``from``)."""
        if sender is not None:
            match["from"] = sender
        return await self.wait_for(
            lambda m: m.get("type") == kind and all(m.get(k) == v for k, v in match.items()),
            within,
        )

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.received if m.get("type") == kind]

    async def wait_closed(self, within: float = 5.0) -> tuple[int | None, str]:
        await asyncio.wait_for(self.closed.wait(), within)
        return self.ws.close_code, self.ws.close_reason or ""

    async def close(self) -> None:
        await self.ws.close()
        await self._reader


@dataclass
class Classroom:
    """A live session on a node, and helpers to join people and open their sockets."""

    node: Node
    api: httpx.AsyncClient
    platform: Platform
    session_id: str = ""
    host_token: str = ""
    peers: list[Peer] = field(default_factory=list)

    async def create(self, **overrides: Any) -> dict[str, Any]:
        self.host_token = self.platform.token("teacher-1", "teacher", name="Teacher One")
        body = (
            session_body(
                title="Algebra <b>II</b>",
                scheduled_at=future(minutes=1),
                max_participants=50,
                is_public=True,
                default_role="speaker",
            )
            | overrides
        )
        response = await self.api.post("/api/v1/sessions", json=body, headers=self._auth())
        assert response.status_code == 201, response.text
        session: dict[str, Any] = response.json()
        self.session_id = session["id"]
        return session

    def _auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.host_token}"}

    async def start(self) -> None:
        r = await self.api.post(f"/api/v1/sessions/{self.session_id}/start", headers=self._auth())
        assert r.status_code == 200, r.text

    async def end(self) -> None:
        r = await self.api.post(f"/api/v1/sessions/{self.session_id}/end", headers=self._auth())
        assert r.status_code == 200, r.text

    async def join(self, sub: str = "teacher-1", name: str | None = None) -> dict[str, Any]:
        token = (
            self.host_token
            if sub == "teacher-1"
            else self.platform.token(sub, "student", name=name or sub)
        )
        r = await self.api.post(
            f"/api/v1/sessions/{self.session_id}/join", json={}, headers=self._auth(token)
        )
        assert r.status_code == 200, r.text
        joined: dict[str, Any] = r.json()
        return joined

    def ws_url(self, access_token: str, session_id: str | None = None) -> str:
        sid = session_id or self.session_id
        return f"{self.node.ws_base}/api/v1/sessions/{sid}/ws?access_token={access_token}"

    async def open(self, join: dict[str, Any], *, welcome: bool = True) -> Peer:
        ws = await websockets.connect(self.ws_url(join["realtime_token"]), max_size=2**22)
        peer = Peer(ws, join)
        self.peers.append(peer)
        if welcome:
            await peer.wait_type("welcome")
        return peer

    async def enter(self, sub: str = "teacher-1", name: str | None = None) -> Peer:
        return await self.open(await self.join(sub, name))

    async def close_all(self) -> None:
        for peer in self.peers:
            if not peer.closed.is_set():
                await peer.close()


@pytest.fixture
async def classroom(node: Node, api: httpx.AsyncClient) -> AsyncIterator[Classroom]:
    room = Classroom(node, api, Platform())
    yield room
    await room.close_all()


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 5.0) -> None:
    """Poll ``check`` until it holds, within a bound (no sleeps tuned to timing)."""
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def new_uuid() -> str:
    return str(uuid.uuid4())
