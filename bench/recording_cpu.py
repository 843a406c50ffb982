"""Benchmark (issue 5): CPU of recording a 640x480 stream, against receiving the same stream
and discarding it, in one run on one machine.

aiortc publishers (a moving 640x480 picture at 30 fps and a tone, VP8 + Opus) send to a
receiver process, one mode after the other, and the receiver process's CPU time is read from
/proc over the same window:

- ``discard``: receives (jitter buffer, no decoding) and drops every frame;
- ``record``: the mesh recorder, which writes the same frames into WebM without decoding;
- ``decode``: aiortc's ordinary receiver, which decodes every frame (what recording through
  a decoding recorder would cost at least).

Writes the "## Recording (issue 5)" section of docs/benchmarks.md::

    scripts/netns-run .venv/bin/python bench/recording_cpu.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aioice.ice
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.recording.sources

from tests.recording.sources import MovingPictureTrack, ToneTrack  # noqa: E402

from liveclass.recording import passthrough  # noqa: E402
from liveclass.recording.mesh_recorder import MeshRecorder  # noqa: E402

SECTION = "## Recording (issue 5)"
STREAMS = 2
WARMUP_S = 4.0
WINDOW_S = 15.0
TARGET = 15.0  # % of one core per stream
MODES = ("discard", "record", "decode")


def _loopback(use_ipv4: bool = True, use_ipv6: bool = True) -> list[str]:
    return ["127.0.0.1"]


# -- the receiver process -------------------------------------------------------------------


class Discarder:
    """Receives every track and drops its frames."""

    def __init__(self) -> None:
        self.pcs: list[RTCPeerConnection] = []
        self.drains: list[asyncio.Task[None]] = []
        self.frames = 0

    async def accept_offer(self, peer: str, sdp: str) -> str:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pcs.append(pc)

        @pc.on("track")
        def _track(track: MediaStreamTrack) -> None:
            self.drains.append(asyncio.create_task(self._drain(track)))

        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        return pc.localDescription.sdp

    async def _drain(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                await track.recv()
            except MediaStreamError:
                return
            self.frames += 1

    async def close(self) -> None:
        for pc in self.pcs:
            await pc.close()


async def receive(mode: str, work: Path) -> None:
    aioice.ice.get_host_addresses = _loopback
    if mode != "decode":
        passthrough.install()
    recorder = MeshRecorder(work) if mode == "record" else None
    discarder = Discarder()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        m = json.loads(line)
        if m["cmd"] == "offer":
            target = recorder or discarder
            answer = await target.accept_offer(m["peer"], m["sdp"])
            print(json.dumps({"answer": answer}), flush=True)
        elif m["cmd"] == "stop":
            break
    if recorder is not None:
        written = recorder.frames_written()
        from liveclass.recording.storage import LocalStorage

        await recorder.stop(LocalStorage(work / "out"), key_prefix="bench")
        print(json.dumps({"written": written}), flush=True)
    else:
        await discarder.close()
        print(json.dumps({"frames": discarder.frames}), flush=True)


# -- the publishing side --------------------------------------------------------------------


@dataclass
class ModeResult:
    mode: str
    cpu_percent: float  # of one core, the receiver process, all streams
    detail: str


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15 of the line, 12 and 13 after the command name
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run_mode(mode: str, work: Path) -> ModeResult:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--receiver",
        mode,
        "--work",
        str(work / mode),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    publishers: list[RTCPeerConnection] = []
    for n in range(STREAMS):
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.addTrack(ToneTrack())
        pc.addTrack(MovingPictureTrack())
        await pc.setLocalDescription(await pc.createOffer())
        offer = {"cmd": "offer", "peer": f"publisher{n}", "sdp": pc.localDescription.sdp}
        proc.stdin.write(json.dumps(offer).encode() + b"\n")
        answer = json.loads(await proc.stdout.readline())["answer"]
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        publishers.append(pc)
    await asyncio.sleep(WARMUP_S)
    cpu0, t0 = _cpu_seconds(proc.pid), time.monotonic()
    await asyncio.sleep(WINDOW_S)
    cpu1, t1 = _cpu_seconds(proc.pid), time.monotonic()
    proc.stdin.write(b'{"cmd": "stop"}\n')
    detail = (await proc.stdout.readline()).decode().strip()
    await proc.wait()
    for pc in publishers:
        await pc.close()
    return ModeResult(mode, 100 * (cpu1 - cpu0) / (t1 - t0), detail)


def section(results: dict[str, ModeResult]) -> str:
    per = {m: r.cpu_percent / STREAMS for m, r in results.items()}
    added = per["record"] - per["discard"]
    verdict = "met" if added <= TARGET else "NOT met"
    rows = "\n".join(f"| {m} | {results[m].cpu_percent:.1f} | {per[m]:.1f} |" for m in MODES)
    return f"""{SECTION}

`scripts/netns-run .venv/bin/python bench/recording_cpu.py` — one run, one machine
({os.cpu_count()} cores): {STREAMS} aiortc publishers, each a moving 640x480 picture at 30 fps
(VP8) and a tone (Opus), send to one receiver process, in each mode in turn. CPU is the
receiver process's user+system time from /proc over {WINDOW_S:.0f} s after a {WARMUP_S:.0f} s
warm-up, in % of one core.

| receiver mode | CPU, {STREAMS} streams (%) | CPU per stream (%) |
|---|---:|---:|
{rows}

- discard: received and dropped, no decoding (the baseline);
- record: the mesh recorder, VP8/Opus copied into WebM without decoding;
- decode: aiortc's own receiver, decoding every frame (a decoding recorder costs at least
  this, before any re-encoding).

Target: recording adds ≤ {TARGET:.0f}% of one core per stream over receiving and discarding —
measured {added:+.1f}% per stream ({verdict}).
"""


def write_section(path: Path, text: str) -> None:
    """Replace only our section of docs/benchmarks.md; other sections belong to others."""
    current = path.read_text() if path.exists() else "# Benchmarks\n\n"
    start = current.find(SECTION)
    if start == -1:
        current = current.rstrip("\n") + "\n\n" + text
    else:
        end = current.find("\n## ", start + len(SECTION))
        current = current[:start] + text + ("" if end == -1 else current[end + 1 :])
    path.write_text(current)


async def main(output: Path) -> None:
    aioice.ice.get_host_addresses = _loopback
    with tempfile.TemporaryDirectory() as tmp:
        results = {mode: await run_mode(mode, Path(tmp)) for mode in MODES}
    for result in results.values():
        print(f"{result.mode}: {result.cpu_percent:.1f}% ({result.detail})")
    text = section(results)
    print(text)
    write_section(output, text)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--receiver", choices=MODES)
    parser.add_argument("--work", type=Path)
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args()
    if args.receiver:
        asyncio.run(receive(args.receiver, args.work))
    else:
        asyncio.run(main(args.output))
