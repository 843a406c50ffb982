"""A small client for Daily's REST API (``https://api.daily.co/v1``), over httpx: rooms,
meeting tokens, cloud recordings and their access links.

Every call carries ``Authorization: Bearer <API key>``. Daily answers errors as
``{"error": <code>, "info": <text>}``; a 4xx becomes ``ProviderError`` with those two, a
5xx, a timeout, an unreachable host or a second 429 ``ProviderUnavailable``
(``liveclass.providers.errors``). A 429 with a short ``Retry-After`` is waited out once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from liveclass.providers.errors import ProviderError, ProviderUnavailable
from liveclass.providers.transport import (
    DEFAULT_MAX_RETRY_WAIT,
    DEFAULT_TIMEOUT,
    ProviderTransport,
    body_gist,
    error_body,
)

DAILY_API_URL = "https://api.daily.co/v1"
PROVIDER = "Daily"
RECORDING_TYPES = ("cloud", "cloud-audio-only", "raw-tracks")


@dataclass(frozen=True, slots=True)
class DailyRoom:
    """A room as Daily answers it; ``url`` is what people open to join (seed 003's
    ``roomUrl``)."""

    id: str
    name: str
    url: str
    privacy: str
    created_at: str = ""
    config: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, reply: Mapping[str, Any]) -> DailyRoom:
        config = reply.get("config")
        return cls(
            id=_text(reply, "id"),
            name=_required(reply, "name"),
            url=_required(reply, "url"),
            privacy=_text(reply, "privacy"),
            created_at=_text(reply, "created_at"),
            config=dict(config) if isinstance(config, dict) else {},
        )


@dataclass(frozen=True, slots=True)
class DailyRecording:
    """A recording object; ``status`` is ``in-progress``, ``finished`` or ``canceled``."""

    id: str
    room_name: str
    status: str
    start_ts: int = 0
    duration: int | None = None  # Daily leaves it out while the recording is in progress
    max_participants: int | None = None

    @classmethod
    def parse(cls, reply: Mapping[str, Any]) -> DailyRecording:
        return cls(
            id=_required(reply, "id"),
            room_name=_text(reply, "room_name"),
            status=_text(reply, "status"),
            start_ts=_integer(reply, "start_ts") or 0,
            duration=_integer(reply, "duration"),
            max_participants=_integer(reply, "max_participants"),
        )


@dataclass(frozen=True, slots=True)
class AccessLink:
    """A short-lived signed download URL: use it at once, never store it."""

    download_link: str
    expires: int


class DailyClient:
    """The REST calls liveclass makes against one Daily domain."""

    def __init__(
        self,
        api_key: str,
        *,
        api_url: str = DAILY_API_URL,
        http: httpx.AsyncClient | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
        self._wire = ProviderTransport(
            PROVIDER, http=http, timeout=timeout, max_retry_wait=max_retry_wait
        )

    async def aclose(self) -> None:
        await self._wire.aclose()

    @property
    def http(self) -> httpx.AsyncClient:
        """The HTTP client (with its bounded timeout), for fetching an access link's file."""
        return self._wire.http

    # rooms

    async def create_room(
        self,
        *,
        exp: int,
        name: str | None = None,
        nbf: int | None = None,
        max_participants: int | None = None,
        recorded: bool = False,
    ) -> DailyRoom:
        """A private room that closes (and ejects everyone) at ``exp``; cloud recording is
        enabled only for a recorded class. Without ``name`` Daily picks one."""
        properties = _room_properties(exp=exp, nbf=nbf, max_participants=max_participants)
        properties["eject_at_room_exp"] = True
        if recorded:
            properties["enable_recording"] = "cloud"
        body: dict[str, Any] = {"privacy": "private", "properties": properties}
        if name is not None:
            body["name"] = name
        return DailyRoom.parse(await self._call("POST", "/rooms", json=body))

    async def update_room(
        self,
        name: str,
        *,
        exp: int | None = None,
        nbf: int | None = None,
        max_participants: int | None = None,
    ) -> DailyRoom:
        """Change a room's times or size (a reschedule); only the given properties change."""
        properties = _room_properties(exp=exp, nbf=nbf, max_participants=max_participants)
        path = f"/rooms/{_segment(name)}"
        return DailyRoom.parse(await self._call("POST", path, json={"properties": properties}))

    async def get_room(self, name: str) -> DailyRoom:
        return DailyRoom.parse(await self._call("GET", f"/rooms/{_segment(name)}"))

    async def delete_room(self, name: str) -> bool:
        """Delete the room: True if it was deleted now, False if it was already gone
        (Daily answers 404 for deleted and expired rooms alike)."""
        try:
            await self._call("DELETE", f"/rooms/{_segment(name)}")
        except ProviderError as exc:
            if exc.provider_status == 404:
                return False
            raise
        return True

    # meeting tokens

    async def meeting_token(
        self,
        *,
        room_name: str,
        user_name: str,
        user_id: str,
        is_owner: bool,
        exp: int,
        nbf: int | None = None,
    ) -> str:
        """A token for one person in one room; ``is_owner`` only for the host."""
        properties: dict[str, Any] = {
            "room_name": room_name,
            "user_name": user_name,
            "user_id": user_id,
            "is_owner": is_owner,
            "exp": exp,
        }
        if nbf is not None:
            properties["nbf"] = nbf
        reply = await self._call("POST", "/meeting-tokens", json={"properties": properties})
        return _required(reply, "token")

    async def token_properties(self, token: str) -> dict[str, Any]:
        """What Daily reads in a token (``GET /meeting-tokens/:token``); 4xx if invalid."""
        return await self._call("GET", f"/meeting-tokens/{_segment(token)}")

    # recordings

    async def start_recording(self, room_name: str, *, recording_type: str = "cloud") -> str | None:
        """Start recording the room's live session; the recording's id when Daily gives it."""
        _check_recording_type(recording_type)
        path = f"/rooms/{_segment(room_name)}/recordings/start"
        reply = await self._call("POST", path, json={"type": recording_type})
        return _text(reply, "recordingId") or _text(reply, "recording_id") or None

    async def stop_recording(
        self, room_name: str, *, recording_type: str | None = None, instance_id: str | None = None
    ) -> None:
        """Stop it; ``ProviderError`` 400 if no recording is running in that room."""
        body: dict[str, Any] = {}
        if recording_type is not None:
            _check_recording_type(recording_type)
            body["type"] = recording_type
        if instance_id is not None:
            body["instanceId"] = instance_id
        await self._call("POST", f"/rooms/{_segment(room_name)}/recordings/stop", json=body)

    async def list_recordings(
        self, *, room_name: str | None = None, limit: int | None = None
    ) -> list[DailyRecording]:
        params: dict[str, str | int] = {}
        if room_name is not None:
            params["room_name"] = room_name
        if limit is not None:
            params["limit"] = limit
        reply = await self._call("GET", "/recordings", params=params)
        data = reply.get("data")
        if not isinstance(data, list):
            raise ProviderUnavailable(PROVIDER, "GET /recordings answered no data list")
        return [DailyRecording.parse(item) for item in data if isinstance(item, dict)]

    async def get_recording(self, recording_id: str) -> DailyRecording:
        path = f"/recordings/{_segment(recording_id)}"
        return DailyRecording.parse(await self._call("GET", path))

    async def access_link(self, recording_id: str) -> AccessLink:
        """A fresh download link for a finished recording."""
        reply = await self._call("GET", f"/recordings/{_segment(recording_id)}/access-link")
        return AccessLink(
            download_link=_required(reply, "download_link"), expires=_integer(reply, "expires") or 0
        )

    # the wire

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        url, what = self.api_url + path, f"{method} {path}"
        return await self._wire.call(
            method, url, headers=self._headers, refusal=_refusal, what=what, **kwargs
        )


def _refusal(what: str, response: httpx.Response) -> ProviderError:
    """Daily's ``{error, info}``, or the status alone from something in between."""
    body = error_body(response)
    if isinstance(body.get("error"), str):
        return ProviderError(PROVIDER, response.status_code, body["error"], _text(body, "info"))
    text = body_gist(response, what)
    return ProviderError(PROVIDER, response.status_code, "unknown", text)


def _room_properties(
    *, exp: int | None, nbf: int | None, max_participants: int | None
) -> dict[str, Any]:
    given = {"exp": exp, "nbf": nbf, "max_participants": max_participants}
    return {key: value for key, value in given.items() if value is not None}


def _check_recording_type(recording_type: str) -> None:
    if recording_type not in RECORDING_TYPES:
        known = ", ".join(RECORDING_TYPES)
        raise ValueError(f"unknown Daily recording type {recording_type!r}; use one of {known}")


def _segment(value: str) -> str:
    # a room name, token or id is one path segment; never let it reach another path
    return quote(value, safe="")


def _text(message: Mapping[str, Any], key: str) -> str:
    value = message.get(key)
    return value if isinstance(value, str) else ""


def _required(message: Mapping[str, Any], key: str) -> str:
    value = _text(message, key)
    if not value:
        raise ProviderUnavailable(PROVIDER, f"the answer has no {key!r}")
    return value


def _integer(message: Mapping[str, Any], key: str) -> int | None:
    value = message.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)
