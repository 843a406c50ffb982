"""Publish synthetic audio+video from aiortc into a recorded Janus VideoRoom (HTTP API)."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from tests.recording.sources import MovingPictureTrack, ToneTrack


@dataclass
class JanusApi:
    url: str
    api_secret: str
    admin_key: str
    client: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=10))

    async def call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        body = {"transaction": secrets.token_hex(6), **body}
        if self.api_secret:
            body["apisecret"] = self.api_secret
        reply: dict[str, Any] = (await self.client.post(self.url + path, json=body)).json()
        if reply.get("janus") == "error":
            raise RuntimeError(f"janus error: {reply}")
        return reply

    async def attach(self) -> tuple[int, int]:
        session = (await self.call("", {"janus": "create"}))["data"]["id"]
        handle = (
            await self.call(f"/{session}", {"janus": "attach", "plugin": "janus.plugin.videoroom"})
        )["data"]["id"]
        return session, handle

    async def request(self, session: int, handle: int, body: dict[str, Any]) -> dict[str, Any]:
        reply = await self.call(f"/{session}/{handle}", {"janus": "message", "body": body})
        data: dict[str, Any] = reply["plugindata"]["data"]
        if "error" in data:
            raise RuntimeError(f"videoroom error: {data}")
        return data

    async def next_event(self, session: int, want: str) -> dict[str, Any]:
        """Long-poll the session until an event carrying ``want`` arrives (at most 10 s)."""
        params = {"maxev": "5"} | ({"apisecret": self.api_secret} if self.api_secret else {})
        async with asyncio.timeout(10):
            while True:
                events = (await self.client.get(f"{self.url}/{session}", params=params)).json()
                for event in events if isinstance(events, list) else [events]:
                    if want in event:
                        result: dict[str, Any] = event
                        return result

    async def close(self) -> None:
        await self.client.aclose()


async def create_recorded_room(api: JanusApi, rec_dir: Path) -> int:
    session, handle = await api.attach()
    room = 1000 + secrets.randbelow(10_000_000)
    await api.request(
        session,
        handle,
        {
            "request": "create",
            "room": room,
            "admin_key": api.admin_key,
            "record": True,
            "rec_dir": str(rec_dir),
            "publishers": 6,
            "audiocodec": "opus",
            "videocodec": "vp8",
        },
    )
    return room


async def stop_recording(api: JanusApi, room: int) -> None:
    session, handle = await api.attach()
    await api.request(
        session,
        handle,
        {
            "request": "enable_recording",
            "room": room,
            "record": False,
            "secret": "",
            "admin_key": api.admin_key,
        },
    )


@dataclass
class JanusPublisher:
    pc: RTCPeerConnection
    session: int

    async def close(self) -> None:
        await self.pc.close()


async def publish(api: JanusApi, room: int, name: str) -> JanusPublisher:
    session, handle = await api.attach()
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTrack(ToneTrack())
    pc.addTrack(MovingPictureTrack())
    await pc.setLocalDescription(await pc.createOffer())
    await api.call(
        f"/{session}/{handle}",
        {
            "janus": "message",
            "body": {
                "request": "joinandconfigure",
                "ptype": "publisher",
                "room": room,
                "display": name,
                "audio": True,
                "video": True,
            },
            "jsep": {"type": "offer", "sdp": pc.localDescription.sdp},
        },
    )
    event = await api.next_event(session, "jsep")
    await pc.setRemoteDescription(RTCSessionDescription(**event["jsep"]))
    return JanusPublisher(pc, session)
