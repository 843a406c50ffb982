"""A small client for the Janus HTTP API, just enough to administer VideoRoom rooms.

Every call opens a Janus session, attaches the videoroom plugin, sends synchronous
requests and destroys the session again. That costs a few loopback round trips but
needs no keepalive, and a Janus restart between two calls cannot leave us holding a
dead session. Transport failures become ``Unavailable`` (503 MEDIA_UNAVAILABLE);
plugin refusals become ``VideoRoomError`` with Janus's numeric code.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

import httpx

from liveclass.domain.errors import Unavailable

VIDEOROOM = "janus.plugin.videoroom"

# VideoRoom error codes we act on (janus_videoroom.c).
NO_SUCH_ROOM = 426
ROOM_EXISTS = 427
NO_SUCH_FEED = 428
UNAUTHORIZED = 433


class VideoRoomError(Exception):
    """The VideoRoom plugin refused a request."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"Janus VideoRoom error {code}: {message}")
        self.code = code


def media_unavailable(server: str, reason: str) -> Unavailable:
    return Unavailable(
        f"The media server {server} is unavailable ({reason}); try again shortly.",
        code="MEDIA_UNAVAILABLE",
    )


class JanusClient:
    """Talks to one or more Janus servers over their HTTP API (``.../janus``)."""

    def __init__(self, http: httpx.AsyncClient, *, api_secret: str | None = None) -> None:
        self._http = http
        self._api_secret = api_secret

    @asynccontextmanager
    async def videoroom(self, server: str) -> AsyncIterator[VideoRoomHandle]:
        """A videoroom plugin handle on ``server`` for the duration of the block."""
        session = await self.post(server, server, {"janus": "create"})
        session_url = f"{server.rstrip('/')}/{session['data']['id']}"
        try:
            handle = await self.post(session_url, server, {"janus": "attach", "plugin": VIDEOROOM})
            yield VideoRoomHandle(self, f"{session_url}/{handle['data']['id']}", server)
        finally:
            await self._destroy_quietly(session_url)

    async def post(self, url: str, server: str, body: dict[str, Any]) -> dict[str, Any]:
        """One Janus API request to ``url`` (a server, session or handle URL)."""
        body = {**body, "transaction": secrets.token_hex(8)}
        if self._api_secret:
            body["apisecret"] = self._api_secret
        try:
            response = await self._http.post(url, json=body)
            response.raise_for_status()
            reply: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise media_unavailable(server, type(exc).__name__) from exc
        if reply.get("janus") == "error":
            error = reply.get("error", {})
            # 403 is a wrong api secret: a configuration problem, but to the API
            # caller the media server is just as unusable.
            raise media_unavailable(
                server, f"Janus error {error.get('code')}: {error.get('reason')}"
            )
        return reply

    async def _destroy_quietly(self, session_url: str) -> None:
        body: dict[str, Any] = {"janus": "destroy", "transaction": secrets.token_hex(8)}
        if self._api_secret:
            body["apisecret"] = self._api_secret
        # Janus times idle sessions out itself, so a failure here leaves nothing behind.
        with suppress(httpx.HTTPError):
            await self._http.post(session_url, json=body)


class VideoRoomHandle:
    """One attached videoroom handle; ``request`` sends a synchronous plugin request."""

    def __init__(self, client: JanusClient, url: str, server: str) -> None:
        self._client = client
        self._url = url
        self.server = server

    async def request(self, body: dict[str, Any]) -> dict[str, Any]:
        reply = await self._client.post(self._url, self.server, {"janus": "message", "body": body})
        data: dict[str, Any] = reply.get("plugindata", {}).get("data", {})
        if "error_code" in data:
            raise VideoRoomError(int(data["error_code"]), str(data.get("error", "")))
        return data
