"""The mesh recorder: a server-side WebRTC peer that every publisher also sends to.

In a mesh session browsers send to each other directly, so nothing central sees the media.
The recorder joins the room as one more (hidden) peer: each publisher offers it their
tracks like to any other peer, it answers receive-only, and writes every publisher's VP8 and
Opus frames into ``<peer>.webm`` as they arrive, without decoding (see ``passthrough``).
When it stops, every feed is stored and the main speaker's file becomes the class file.

Call ``passthrough.install()`` once in the recorder's process before any peer connects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from aiortc.sdp import candidate_from_sdp

from liveclass.recording.errors import NoMedia, RecordingError
from liveclass.recording.janus_post import PostResult, StoredFile
from liveclass.recording.passthrough import EncodedFrame
from liveclass.recording.storage import RecordingStorage
from liveclass.recording.webm_writer import WebmFeedWriter

log = logging.getLogger(__name__)
WEBM = "video/webm"
_PEER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass
class _Feed:
    peer_id: str
    pc: RTCPeerConnection
    writer: WebmFeedWriter
    pumps: list[asyncio.Task[None]] = field(default_factory=list)
    error: RecordingError | None = None


class MeshRecorder:
    """Receives publishers' tracks and writes one WebM per publisher into ``work_dir``."""

    def __init__(self, work_dir: Path, *, ice: RTCConfiguration | None = None) -> None:
        self.work_dir = work_dir
        self._ice = ice or RTCConfiguration(iceServers=[])
        self._feeds: dict[str, _Feed] = {}
        # earlier connections of publishers who left and came back: their files are kept
        self._ended: list[_Feed] = []
        self.main_file: Path | None = None

    async def accept_offer(self, peer_id: str, sdp: str) -> str:
        """Answer a publisher's offer (receive only); return the answer SDP.

        An offer on a live connection renegotiates it (e.g. a screen share was added); an
        offer after the connection closed starts a new file for that publisher."""
        if not _PEER_ID.fullmatch(peer_id):
            raise ValueError(f"peer id {peer_id!r} cannot name a file")
        feed = self._feeds.get(peer_id)
        if feed is None or feed.pc.connectionState in ("closed", "failed"):
            await self.drop_peer(peer_id)
            feed = self._new_feed(peer_id)
        pc = feed.pc
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        return pc.localDescription.sdp

    def _new_feed(self, peer_id: str) -> _Feed:
        earlier = sum(1 for f in self._ended if f.peer_id == peer_id)
        name = f"{peer_id}.webm" if earlier == 0 else f"{peer_id}.{earlier + 1}.webm"
        pc = RTCPeerConnection(self._ice)
        feed = _Feed(peer_id, pc, WebmFeedWriter(self.work_dir / name))
        self._feeds[peer_id] = feed

        @pc.on("track")
        def _on_track(track: MediaStreamTrack) -> None:
            feed.pumps.append(asyncio.create_task(self._pump(feed, track)))

        return feed

    async def add_candidate(self, peer_id: str, candidate: dict[str, object] | None) -> None:
        """A trickled ICE candidate of a publisher (browsers trickle; aiortc does not)."""
        feed = self._feeds.get(peer_id)
        line = str((candidate or {}).get("candidate") or "")
        if feed is None or not line:
            return  # end-of-candidates, or a candidate for a connection already gone
        parsed = candidate_from_sdp(line.removeprefix("candidate:"))
        assert candidate is not None
        mid, index = candidate.get("sdpMid"), candidate.get("sdpMLineIndex")
        parsed.sdpMid = str(mid) if mid is not None else None
        parsed.sdpMLineIndex = int(str(index)) if index is not None else None
        await feed.pc.addIceCandidate(parsed)

    async def _pump(self, feed: _Feed, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if not isinstance(frame, EncodedFrame):
                raise RuntimeError("passthrough.install() was not called in this process")
            try:
                feed.writer.write(frame, time.monotonic())
            except RecordingError as exc:
                feed.error = exc
                log.warning("recording of %s stopped: %s", feed.peer_id, exc)
                return

    async def drop_peer(self, peer_id: str) -> None:
        feed = self._feeds.pop(peer_id, None)
        if feed is not None:
            await feed.pc.close()
            await self._drain(feed)
            self._ended.append(feed)

    async def _drain(self, feed: _Feed) -> None:
        # closing the connection ends the tracks; the pumps then return on their own
        for task in feed.pumps:
            with contextlib.suppress(asyncio.CancelledError):
                try:
                    await asyncio.wait_for(task, 5)
                except TimeoutError:
                    task.cancel()

    def frames_written(self) -> dict[str, dict[str, int]]:
        return {peer: dict(feed.writer.packets) for peer, feed in self._feeds.items()}

    @property
    def publishers(self) -> int:
        """Publishers connected now."""
        return len(self._feeds)

    async def stop(
        self, storage: RecordingStorage, *, key_prefix: str, main_peer: str | None = None
    ) -> PostResult:
        """Close every connection, finish the files and store them."""
        for peer_id in list(self._feeds):
            await self.drop_peer(peer_id)
        everyone = self._ended
        written = [f for f in everyone if f.writer.close()]
        errors = [f.error for f in everyone if f.error is not None]
        if errors:
            raise errors[0]
        if not written:
            raise NoMedia("no publisher sent a video key frame to the recorder")
        main = max(
            (f for f in written if f.peer_id == main_peer or main_peer is None),
            key=lambda f: f.writer.path.stat().st_size,
            default=max(written, key=lambda f: f.writer.path.stat().st_size),
        )
        self.main_file = main.writer.path
        feeds: list[StoredFile] = []
        for feed in written:
            key = f"{key_prefix}/feeds/{feed.writer.path.name}"
            size = await storage.put_file(key, feed.writer.path, content_type=WEBM)
            feeds.append(StoredFile(key, size))
        key = f"{key_prefix}/class.webm"
        size = await storage.put_file(key, main.writer.path, content_type=WEBM)
        return PostResult(main=StoredFile(key, size), feeds=feeds, main_feed=main.peer_id)
