"""A stand-in for LiveKit's signal endpoint, for browser tests: a WebSocket server on
127.0.0.1 (in a thread) that records every connection livekit-client opens and answers
nothing. No LiveKit server can be installed here, so no join ever completes: what the tests
learn is where livekit-client connected and with which token.

livekit-client (2.x) connects to ``<LIVEKIT_URL>/rtc/v1?access_token=<token>&join_request=...``
(``/rtc`` with the older protocol) and, when a connection fails, asks the HTTP side
``.../rtc/v1/validate`` why; that request is recorded too and refused.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response


@dataclass(frozen=True)
class SignalRequest:
    path: str
    query: dict[str, str]  # the first value of each parameter
    upgrade: bool  # a WebSocket handshake, not a plain HTTP request

    @property
    def access_token(self) -> str | None:
        return self.query.get("access_token")


class LiveKitSignalEndpoint:
    """Records requests; ``url`` is the ``ws://`` URL to give liveclass as LIVEKIT_URL."""

    def __init__(self) -> None:
        self.requests: list[SignalRequest] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def seen(self) -> list[SignalRequest]:
        with self._lock:
            return list(self.requests)

    def _record(self, connection: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
        query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        with self._lock:
            self.requests.append(SignalRequest(parts.path, query, upgrade))
        if not upgrade:  # e.g. livekit-client's /validate: nothing to say
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "no LiveKit here\n")
        return None

    async def _hold(self, connection: ServerConnection) -> None:
        # the join is never answered: livekit-client gives up after its own timeout
        await connection.wait_closed()

    def start(self) -> None:
        started = threading.Event()

        async def run() -> None:
            self._server = await serve(
                self._hold, "127.0.0.1", 0, process_request=self._record, ping_interval=None
            )
            self.port = int(next(iter(self._server.sockets)).getsockname()[1])
            self._loop = asyncio.get_running_loop()
            started.set()
            await self._server.wait_closed()

        self._thread = threading.Thread(target=lambda: asyncio.run(run()), daemon=True)
        self._thread.start()
        if not started.wait(timeout=20):
            raise RuntimeError("the LiveKit signal endpoint did not start")

    def stop(self) -> None:
        if self._loop is None or self._server is None or self._thread is None:
            return
        self._loop.call_soon_threadsafe(self._server.close)
        self._thread.join(timeout=20)
        self._server = self._loop = self._thread = None


@contextmanager
def serve_livekit_signal() -> Iterator[LiveKitSignalEndpoint]:
    endpoint = LiveKitSignalEndpoint()
    endpoint.start()
    try:
        yield endpoint
    finally:
        endpoint.stop()
