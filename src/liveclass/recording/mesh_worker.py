"""The mesh recorder process: joins a class's WebSocket as the hidden recorder peer, answers
every publisher's offer, and writes their media into WebM until it is told to stop.

It runs as its own process (``passthrough.install()`` changes every aiortc receiver in a
process) and is started and watched by ``mesh_capture`` in the server::

    python -m liveclass.recording.mesh_worker --url ws://127.0.0.1:8000/api/v1/sessions/<id>/ws \\
        --work-dir DIR --out-dir DIR [--ice-address 127.0.0.1]

The access token comes in ``LIVECLASS_RECORDER_TOKEN`` (a command line is visible to every
user of the machine). The worker stops on ``stop`` (or end of file) on stdin, or when the
class ends. It reports on stdout, one JSON object a line: ``{"event": "joined"}`` once it is
in the room, then ``{"event": "stored", ...}`` with the files it stored under ``--out-dir``,
or ``{"event": "failed", "reason": ...}``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import aioice.ice
import av
from aiortc import RTCConfiguration
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from liveclass.recording import passthrough
from liveclass.recording.errors import RecordingError
from liveclass.recording.mesh_recorder import MeshRecorder
from liveclass.recording.storage import LocalStorage

TOKEN_ENV = "LIVECLASS_RECORDER_TOKEN"
STAGED_PREFIX = "staged"
# The socket closed for good: the class ended, or the recorder was refused.
_TERMINAL = {4401, 4403, 4404, 4409, 4410}


def report(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


class RecorderPeer:
    """Relays signaling between the classroom socket and the ``MeshRecorder``."""

    def __init__(self, recorder: MeshRecorder) -> None:
        self.recorder = recorder
        self.roles: dict[str, str] = {}

    async def run(self, ws: ClientConnection) -> None:
        async for raw in ws:
            await self.handle(ws, json.loads(raw))

    async def handle(self, ws: ClientConnection, m: dict[str, Any]) -> None:
        kind = m.get("type")
        if kind == "welcome":
            self.roles.update({p["participant_id"]: p["role"] for p in m.get("peers", [])})
            report("joined")
        elif kind == "peer_joined":
            self.roles[m["peer"]["participant_id"]] = m["peer"]["role"]
        elif kind == "role_changed":
            self.roles[str(m["participant_id"])] = str(m["role"])
        elif kind == "offer":
            answer = await self.recorder.accept_offer(m["from"], m["sdp"])
            await ws.send(json.dumps({"type": "answer", "to": m["from"], "sdp": answer}))
        elif kind == "candidate":
            await self.recorder.add_candidate(m["from"], m.get("candidate"))
        elif kind == "peer_left":
            await self.recorder.drop_peer(str(m["participant_id"]))

    def main_peer(self) -> str | None:
        """The host is the main speaker of a class."""
        return next((pid for pid, role in self.roles.items() if role == "host"), None)


async def _stop_requested() -> None:
    """Return on a ``stop`` line or end of file on stdin (the server went away)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    # a pipe reader rather than a thread: a thread blocked in readline() would keep the
    # process alive after the class ended on its own
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line or line.strip() == b"stop":
            return


async def record(url: str, token: str, work_dir: Path, out_dir: Path) -> int:
    passthrough.install()
    recorder = MeshRecorder(work_dir, ice=RTCConfiguration(iceServers=[]))
    peer = RecorderPeer(recorder)
    stop = asyncio.create_task(_stop_requested())
    try:
        async with connect(f"{url}?access_token={token}&instance=recorder") as ws:
            session = asyncio.create_task(peer.run(ws))
            await asyncio.wait({stop, session}, return_when=asyncio.FIRST_COMPLETED)
            if session.done() and session.exception() is not None:
                _raise_unless_ended(session.exception())
            session.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                await session
    except (OSError, ConnectionClosed) as exc:
        report("failed", reason=f"the recorder lost the classroom connection: {exc}")
        return 1
    finally:
        stop.cancel()
    return await _store(recorder, peer, out_dir)


def _raise_unless_ended(exc: BaseException | None) -> None:
    if isinstance(exc, ConnectionClosed) and exc.rcvd is not None and exc.rcvd.code in _TERMINAL:
        return  # the class ended: store what was recorded
    if exc is not None:
        raise exc


async def _store(recorder: MeshRecorder, peer: RecorderPeer, out_dir: Path) -> int:
    try:
        result = await recorder.stop(
            LocalStorage(out_dir), key_prefix=STAGED_PREFIX, main_peer=peer.main_peer()
        )
    except RecordingError as exc:
        report("failed", reason=str(exc))
        return 1
    assert recorder.main_file is not None
    report(
        "stored",
        main=result.main.key,
        feeds=[f.key for f in result.feeds],
        main_feed=result.main_feed,
        duration_ms=media_duration_ms(recorder.main_file),
    )
    return 0


def media_duration_ms(path: Path) -> int | None:
    """The container's duration, as a player will show it."""
    try:
        with av.open(str(path)) as container:
            return None if container.duration is None else container.duration // 1000
    except (OSError, av.FFmpegError):
        return None


def _use_host_addresses(addresses: list[str]) -> None:
    # aioice leaves loopback addresses out; a loopback-only deployment names them here
    def fixed(use_ipv4: bool = True, use_ipv6: bool = True) -> list[str]:
        return addresses

    aioice.ice.get_host_addresses = fixed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="liveclass.recording.mesh_worker")
    parser.add_argument("--url", required=True, help="the class's WebSocket URL")
    parser.add_argument("--work-dir", required=True, type=Path)
    parser.add_argument("--out-dir", required=True, type=Path)
    parser.add_argument("--ice-address", action="append", default=[])
    args = parser.parse_args(argv)
    token = os.environ.get(TOKEN_ENV, "")
    if not token:
        parser.error(f"{TOKEN_ENV} is not set")
    if args.ice_address:
        _use_host_addresses(args.ice_address)
    return asyncio.run(record(args.url, token, args.work_dir, args.out_dir))


if __name__ == "__main__":
    sys.exit(main())
