"""aiortc peers that join a Janus VideoRoom the way a browser does, for tests.

They speak the Janus HTTP API with long polling and use exactly the credentials
``JanusBackend.grant`` handed out, so what Janus accepts or refuses here is what it
would accept or refuse from a browser.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from typing import Any

import av
import httpx
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)

from liveclass.media.janus_api import VideoRoomError

REPLY_TIMEOUT = 10.0


class JanusSession:
    """One Janus session over HTTP, with a long-poll task collecting its events."""

    def __init__(self, url: str, api_secret: str | None) -> None:
        self.url = url.rstrip("/")
        self.api_secret = api_secret
        self.http = httpx.AsyncClient(timeout=REPLY_TIMEOUT + 40)
        self.session_url = ""
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._poller: asyncio.Task[None] | None = None

    async def open(self) -> None:
        reply = await self._post(self.url, {"janus": "create"})
        self.session_url = f"{self.url}/{reply['data']['id']}"
        self._poller = asyncio.create_task(self._poll())

    async def attach(self) -> str:
        reply = await self._post(
            self.session_url, {"janus": "attach", "plugin": "janus.plugin.videoroom"}
        )
        return f"{self.session_url}/{reply['data']['id']}"

    async def message(
        self, handle_url: str, body: dict[str, Any], jsep: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """Send a plugin request; return the plugin data and JSEP of its answer."""
        request: dict[str, Any] = {"janus": "message", "body": body}
        if jsep is not None:
            request["jsep"] = jsep
        transaction = secrets.token_hex(8)
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[transaction] = waiter
        try:
            reply = await self._post(handle_url, request, transaction)
            if reply["janus"] == "ack":  # asynchronous: the answer comes as an event
                reply = await asyncio.wait_for(waiter, REPLY_TIMEOUT)
        finally:
            self._waiting.pop(transaction, None)
        data: dict[str, Any] = reply.get("plugindata", {}).get("data", {})
        if "error_code" in data:
            raise VideoRoomError(int(data["error_code"]), str(data.get("error")))
        return data, reply.get("jsep")

    async def next_event(self, predicate: Any, within: float = REPLY_TIMEOUT) -> dict[str, Any]:
        """The next unsolicited event for which ``predicate(event)`` holds."""
        deadline = time.monotonic() + within
        while (left := deadline - time.monotonic()) > 0:
            event = await asyncio.wait_for(self.events.get(), left)
            if predicate(event):
                return event
        raise TimeoutError("no matching Janus event")

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        if self.session_url:
            with contextlib.suppress(httpx.HTTPError):
                await self._post(self.session_url, {"janus": "destroy"})
        await self.http.aclose()

    async def _post(
        self, url: str, body: dict[str, Any], transaction: str | None = None
    ) -> dict[str, Any]:
        body = {**body, "transaction": transaction or secrets.token_hex(8)}
        if self.api_secret:
            body["apisecret"] = self.api_secret
        response = await self.http.post(url, json=body, timeout=REPLY_TIMEOUT)
        reply: dict[str, Any] = response.json()
        if reply.get("janus") == "error":
            raise RuntimeError(f"Janus error: {reply.get('error')}")
        return reply

    async def _poll(self) -> None:
        params: dict[str, str | int] = {"maxev": 10}
        if self.api_secret:
            params["apisecret"] = self.api_secret
        while True:
            try:
                response = await self.http.get(self.session_url, params=params)
            except httpx.HTTPError:
                await asyncio.sleep(0.2)  # Janus gone (restart test): keep trying
                continue
            batch = response.json()
            for event in batch if isinstance(batch, list) else [batch]:
                self._dispatch(event)

    def _dispatch(self, event: dict[str, Any]) -> None:
        waiter = self._waiting.get(str(event.get("transaction")))
        if waiter is not None and not waiter.done() and event.get("janus") == "event":
            waiter.set_result(event)
        else:
            self.events.put_nowait(event)


class ColourBars(VideoStreamTrack):
    """A synthetic 320x240 camera whose colour changes every frame, so VP8 has work."""

    def __init__(self) -> None:
        super().__init__()
        self._n = 0

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        self._n += 1
        frame = av.VideoFrame(320, 240, "yuv420p")
        luma = frame.planes[0]
        # a bright bar sweeping down over a slowly changing background
        row = bytes([(self._n * 3) % 256]) * luma.line_size
        bar = (self._n * 4) % 240
        rows = [b"\xeb" * luma.line_size if bar <= y < bar + 20 else row for y in range(240)]
        luma.update(b"".join(rows))
        for chroma in frame.planes[1:]:
            chroma.update(bytes([(self._n * 5) % 256]) * chroma.buffer_size)
        frame.pts, frame.time_base = pts, time_base
        return frame


def _configuration() -> RTCConfiguration:
    return RTCConfiguration(iceServers=[])  # the default is a public STUN server


class Publisher:
    """A participant that joins as a publisher and sends ``ColourBars``."""

    def __init__(self, grant: dict[str, Any]) -> None:
        self.grant = grant
        self.session = JanusSession(grant["server"], grant["api_secret"])
        self.pc = RTCPeerConnection(_configuration())
        self.handle = ""

    async def join(self, *, feed_id: int | None = None, token: str | None = None) -> None:
        """Join as a publisher (raises ``VideoRoomError`` if Janus refuses)."""
        await self.session.open()
        self.handle = await self.session.attach()
        body: dict[str, Any] = {
            "request": "join",
            "ptype": "publisher",
            "room": self.grant["room"],
            "pin": self.grant["pin"],
            "display": self.grant["display"],
        }
        if (feed := feed_id or self.grant["feed_id"]) is not None:
            body["id"] = feed
        if (tok := token or self.grant["token"]) is not None:
            body["token"] = tok
        await self.session.message(self.handle, body)

    async def publish(self) -> None:
        self.pc.addTransceiver(ColourBars(), direction="sendonly")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        offer = {"type": "offer", "sdp": self.pc.localDescription.sdp}
        _, answer = await self.session.message(
            self.handle, {"request": "publish", "audio": False}, offer
        )
        assert answer is not None, "Janus answered a publish without SDP"
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))

    async def close(self) -> None:
        await self.pc.close()
        await self.session.close()


class Subscriber:
    """A participant that subscribes to one feed and counts the frames it decodes."""

    def __init__(self, grant: dict[str, Any]) -> None:
        self.grant = grant
        self.session = JanusSession(grant["server"], grant["api_secret"])
        self.pc = RTCPeerConnection(_configuration())
        self.frames_decoded = 0
        self._frame = asyncio.Event()
        self._readers: list[asyncio.Task[None]] = []
        self.pc.on("track", self._on_track)

    async def subscribe(self, feed: int) -> None:
        await self.session.open()
        handle = await self.session.attach()
        body = {
            "request": "join",
            "ptype": "subscriber",
            "room": self.grant["room"],
            "pin": self.grant["pin"],
            "streams": [{"feed": feed}],
        }
        _, offer = await self.session.message(handle, body)
        assert offer is not None, "Janus sent no offer to the subscriber"
        await self.pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], offer["type"]))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        answer = {"type": "answer", "sdp": self.pc.localDescription.sdp}
        await self.session.message(handle, {"request": "start"}, answer)

    async def wait_for_frames(self, count: int, within: float = 15.0) -> int:
        """Wait until ``count`` frames were decoded (or ``within`` s passed); the count."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                while self.frames_decoded < count:
                    self._frame.clear()
                    await self._frame.wait()
        return self.frames_decoded

    def _on_track(self, track: MediaStreamTrack) -> None:
        self._readers.append(asyncio.create_task(self._read(track)))

    async def _read(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(Exception):  # the track ends with MediaStreamError
            while True:
                frame = await track.recv()
                if isinstance(frame, av.VideoFrame):  # recv() hands out decoded frames
                    self.frames_decoded += 1
                    self._frame.set()

    async def close(self) -> None:
        for reader in self._readers:
            reader.cancel()
        await self.pc.close()
        await self.session.close()


__all__ = ["ColourBars", "JanusSession", "Publisher", "Subscriber"]
