"""Benchmark (issue 3): chat fan-out to 1,000 sockets in one room, next to a bare broadcast.

One run on loopback. Two servers, each a uvicorn child process (one worker):

* liveclass (SQLite, in-process bus), one live session with 1,000 participants connected
  to ``/api/v1/sessions/{id}/ws`` (the host sends, 999 students receive);
* ``bench/realtime_bare.py``: uvicorn + Starlette WebSockets broadcasting every frame to
  every socket, nothing else.

This process is the load generator (one asyncio loop holding all client sockets). For each
server it measures:

* memory per idle connection: server RSS with every socket connected and quiet, minus its
  RSS before the sockets connected, divided by the number of sockets;
* latency: 30 chat messages 100 ms apart; per delivery, receive time minus send time
  (one clock, this process); p50 and p99 over every delivery to every receiver;
* delivered rate: 40 messages sent back to back (liveclass's chat burst); deliveries per
  second from the first send to the last delivery.

    .venv/bin/python bench/realtime_fanout.py [--clients 1000]

The figures go into the "## Realtime (issue 3)" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.servers import free_port  # noqa: E402

from liveclass.auth.platform import mint_platform_token  # noqa: E402
from liveclass.db.migrate import upgrade  # noqa: E402

JWT_SECRET = "bench-platform-secret-0123456789abcdef"
SECRET_KEY = "bench-liveclass-secret-0123456789abcdef"
LATENCY_MESSAGES = 30
LATENCY_GAP_S = 0.1
BURST_MESSAGES = 40
# A slower machine takes longer for everything: waits end on a stall (nothing new for this
# long), not after a fixed time, and servers get as long to start as the tests allow.
STALL_S = 60.0
STARTUP_S = 90.0


@dataclass
class Result:
    name: str
    clients: int
    bytes_per_idle_connection: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    delivered_per_s: float
    connect_s: float
    rss_before_mib: float
    rss_full_mib: float


@dataclass
class Receiver:
    ws: ClientConnection
    # message tag -> receive time (perf_counter)
    got: dict[str, float] = field(default_factory=dict)
    ready: asyncio.Event = field(default_factory=asyncio.Event)


class Server:
    def __init__(
        self, app: str, port: int, env: dict[str, str], log: Path, *, deflate: bool = True
    ) -> None:
        self.port = port
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            app,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        if not deflate:
            command.append("--ws-per-message-deflate=false")
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                command, env={**os.environ, **env}, cwd=ROOT, stdout=out, stderr=out
            )

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def wait_listening(self) -> None:
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited")
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start within {STARTUP_S:.0f} s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


async def _read(receiver: Receiver, is_ready: Callable[[str], bool]) -> None:
    try:
        async for raw in receiver.ws:
            now = time.perf_counter()
            text = raw if isinstance(raw, str) else raw.decode()
            if not receiver.ready.is_set():
                if is_ready(text):
                    receiver.ready.set()
                continue
            # Only chat frames carry a tag; presence traffic is skipped without parsing.
            start = text.find('"text":"m')
            if start >= 0:
                tag = text[start + 8 : text.index('"', start + 8)]
                receiver.got[tag] = now
    except websockets.ConnectionClosed:
        pass


async def _connect_all(
    urls: list[str], is_ready: Callable[[str], bool], batch: int = 50
) -> list[Receiver]:
    receivers: list[Receiver] = []
    for i in range(0, len(urls), batch):
        sockets = await asyncio.gather(
            *(
                websockets.connect(u, max_size=2**24, ping_interval=None)
                for u in urls[i : i + batch]
            )
        )
        for ws in sockets:
            r = Receiver(ws)
            asyncio.get_running_loop().create_task(_read(r, is_ready))
            receivers.append(r)
        await _until(lambda: _welcomed(receivers), len(receivers), "welcomes")
    return receivers


def _welcomed(receivers: list[Receiver]) -> int:
    return sum(r.ready.is_set() for r in receivers)


async def _until(count: Callable[[], int], target: int, what: str) -> None:
    """Wait until ``count()`` reaches ``target``; give up only when it stops moving."""
    last, moved = count(), time.monotonic()
    while last < target:
        await asyncio.sleep(0.05)
        now = count()
        if now != last:
            last, moved = now, time.monotonic()
        elif time.monotonic() - moved > STALL_S:
            raise RuntimeError(f"{target - now} {what} missing, none for {STALL_S:.0f} s")


async def _quiet(server: Server, seconds: float = 3.0) -> None:
    """Wait until the server's memory stops moving (presence traffic has drained)."""
    last = server.rss_bytes()
    for _ in range(30):
        await asyncio.sleep(seconds)
        now = server.rss_bytes()
        if abs(now - last) < 256 * 1024:
            return
        last = now


async def _measure(
    name: str,
    server: Server,
    urls: list[str],
    is_ready: Callable[[str], bool],
    send: Callable[[ClientConnection, str], Awaitable[None]],
) -> Result:
    await _quiet(server, 1.0)
    before = server.rss_bytes()
    started = time.perf_counter()
    # Memory per socket is the marginal cost of the second half: the first half also pays
    # for warming up (database connections and caches, code paths), which is per server.
    half = len(urls) // 2
    receivers = await _connect_all(urls[:half], is_ready)
    await _quiet(server)
    at_half = server.rss_bytes()
    receivers += await _connect_all(urls[half:], is_ready)
    connect_s = time.perf_counter() - started
    await _quiet(server)
    at_full = server.rss_bytes()
    per_connection = (at_full - at_half) / (len(urls) - half)
    sender, listeners = receivers[0], receivers[1:]

    sent: dict[str, float] = {}
    for n in range(LATENCY_MESSAGES):
        tag = f"mL{n}"
        sent[tag] = time.perf_counter()
        await send(sender.ws, tag)
        await asyncio.sleep(LATENCY_GAP_S)
    await _all_delivered(listeners, sent)
    latencies = sorted((r.got[tag] - at) * 1000 for r in listeners for tag, at in sent.items())

    burst = [f"mB{n}" for n in range(BURST_MESSAGES)]
    first_send = time.perf_counter()
    burst_sent = {}
    for tag in burst:
        burst_sent[tag] = time.perf_counter()
        await send(sender.ws, tag)
    await _all_delivered(listeners, burst_sent)
    last_delivery = max(r.got[tag] for r in listeners for tag in burst)
    rate = len(listeners) * len(burst) / (last_delivery - first_send)

    await asyncio.gather(*(r.ws.close() for r in receivers))
    return Result(
        name=name,
        clients=len(receivers),
        bytes_per_idle_connection=per_connection,
        p50_ms=statistics.median(latencies),
        p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        max_ms=latencies[-1],
        rss_before_mib=before / 2**20,
        rss_full_mib=at_full / 2**20,
        delivered_per_s=rate,
        connect_s=connect_s,
    )


async def _all_delivered(listeners: list[Receiver], sent: dict[str, float]) -> None:
    def delivered() -> int:
        return sum(tag in r.got for r in listeners for tag in sent)

    await _until(delivered, len(listeners) * len(sent), "deliveries")


async def _liveclass_urls(port: int, clients: int) -> list[str]:
    base = f"http://127.0.0.1:{port}"
    host = mint_platform_token(JWT_SECRET, sub="teacher-1", name="Teacher", roles=["teacher"])
    async with httpx.AsyncClient(base_url=base, timeout=30) as api:
        auth = {"Authorization": f"Bearer {host}"}
        created = await api.post(
            "/api/v1/sessions",
            headers=auth,
            json={
                "title": "fan-out",
                "duration": 120,
                "max_participants": clients,
                "scheduled_at": (datetime.now(UTC) + timedelta(minutes=1)).isoformat(),
                "default_role": "viewer",
            },
        )
        created.raise_for_status()
        sid = created.json()["id"]
        (await api.post(f"/api/v1/sessions/{sid}/start", headers=auth)).raise_for_status()
        tokens = [
            mint_platform_token(JWT_SECRET, sub=f"s-{n}", name=f"Student {n}", roles=["student"])
            for n in range(clients - 1)
        ]

        async def join(token: str) -> str:
            r = await api.post(
                f"/api/v1/sessions/{sid}/join",
                json={},
                headers={"Authorization": f"Bearer {token}"},
            )
            r.raise_for_status()
            access: str = r.json()["access_token"]
            return access

        access = [await join(host)]
        for i in range(0, len(tokens), 16):
            access += await asyncio.gather(*(join(t) for t in tokens[i : i + 16]))
    ws = base.replace("http", "ws")
    return [f"{ws}/api/v1/sessions/{sid}/ws?access_token={a}" for a in access]


async def _chat(ws: ClientConnection, tag: str) -> None:
    await ws.send(json.dumps({"type": "chat", "text": tag}, separators=(",", ":")))


async def _bare(ws: ClientConnection, tag: str) -> None:
    # The same shape as liveclass's chat delivery, so both parse the same way.
    await ws.send(json.dumps({"type": "chat", "text": tag}, separators=(",", ":")))


async def run(clients: int, workdir: Path, *, deflate: bool) -> list[Result]:
    db = workdir / "fanout.db"
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{db}",
        "JWT_SECRET": JWT_SECRET,
        "SECRET_KEY": SECRET_KEY,
        "HOST": "127.0.0.1",
    }
    results = []
    port = free_port()
    live = Server(
        "liveclass.app:create_app",
        port,
        {**env, "PORT": str(port)},
        workdir / "liveclass.log",
        deflate=deflate,
    )
    try:
        live.wait_listening()
        urls = await _liveclass_urls(port, clients)
        results.append(
            await _measure("liveclass", live, urls, lambda t: '"type":"welcome"' in t, _chat)
        )
    finally:
        live.stop()
    port = free_port()
    bare = Server("bench.realtime_bare:create_app", port, {}, workdir / "bare.log", deflate=deflate)
    try:
        _wait_port(port)
        urls = [f"ws://127.0.0.1:{port}/ws"] * clients
        results.append(
            await _measure("bare broadcast", bare, urls, lambda t: '"type":"welcome"' in t, _bare)
        )
    finally:
        bare.stop()
    return results


def _wait_port(port: int) -> None:
    import socket

    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("bare server did not start")


def report(results: list[Result]) -> str:
    live, bare = results
    lines = [
        "| server | sockets | p50 latency | p99 latency | max | delivered/s "
        "| memory per idle socket | RSS idle → all connected |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {r.clients} | {r.p50_ms:.1f} ms | {r.p99_ms:.1f} ms "
            f"| {r.max_ms:.1f} ms | {r.delivered_per_s:,.0f} "
            f"| {r.bytes_per_idle_connection / 1024:.1f} KiB "
            f"| {r.rss_before_mib:.0f} → {r.rss_full_mib:.0f} MiB |"
        )
    ratio = live.delivered_per_s / bare.delivered_per_s
    per_socket = live.bytes_per_idle_connection
    lines += [
        "",
        f"Delivered rate: liveclass {ratio:.0%} of the bare broadcast (target ≥ 50%: "
        f"{'met' if ratio >= 0.5 else 'missed'}); p99 {live.p99_ms:.1f} ms (target ≤ 100 ms: "
        f"{'met' if live.p99_ms <= 100 else 'missed'}); memory per idle socket "
        f"{per_socket / 1024:.1f} KiB (target ≤ 50 KB: "
        f"{'met' if per_socket <= 50_000 else 'missed'}). "
        f"Connecting all {live.clients} sockets took {live.connect_s:.1f} s "
        f"(bare: {bare.connect_s:.1f} s); liveclass's includes a token check and an "
        f"attendance row per socket and the presence messages every arrival sends to "
        f"everyone already there.",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {datetime.now(UTC):%Y-%m-%d}.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument(
        "--no-deflate", action="store_true", help="both servers without permessage-deflate"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="liveclass-fanout-") as tmp:
        upgrade(f"sqlite+aiosqlite:///{Path(tmp) / 'fanout.db'}")
        results = asyncio.run(run(args.clients, Path(tmp), deflate=not args.no_deflate))
    print(f"permessage-deflate: {'off' if args.no_deflate else 'on (uvicorn default)'}")
    print(report(results))


if __name__ == "__main__":
    main()
