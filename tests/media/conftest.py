"""Fixtures for the media tests: a real Janus started from deploy/janus/ for the session.

Tests that need Janus skip on a developer machine without it, but FAIL under CI=true,
so a CI image that lost Janus cannot pass silently.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aioice.ice
import pytest

from liveclass.media.backend import MediaBackend, MeshBackend
from liveclass.media.janus import JanusBackend
from liveclass.media.livekit import EgressTarget, LiveKitBackend
from liveclass.media.livekit_api import LiveKitClient
from tests.media.browser import LiveclassServer
from tests.media.janus_server import JanusMissing, JanusServer
from tests.support.fake_livekit import FakeLiveKitServer, serve_fake_livekit
from tests.support.servers import free_port


def _janus_unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"Janus is required under CI: {reason}", pytrace=False)
    pytest.skip(f"Janus not available: {reason}")


def _start(
    workdir: Path, like: JanusServer | None = None, *, allow_origin: str = "*"
) -> JanusServer:
    try:
        if like is None:
            return JanusServer.start(workdir, allow_origin=allow_origin)
        return JanusServer.start(
            workdir,
            admin_secret=like.admin_secret,
            api_secret=like.api_secret,
            allow_origin=allow_origin,
        )
    except JanusMissing as exc:
        _janus_unavailable(str(exc))
        raise  # unreachable: skip/fail raise


@pytest.fixture(scope="session")
def janus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JanusServer]:
    server = _start(tmp_path_factory.mktemp("janus"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def second_janus_server(
    tmp_path_factory: pytest.TempPathFactory, janus_server: JanusServer
) -> Iterator[JanusServer]:
    """Another Janus for the same liveclass (same admin key and api secret)."""
    server = _start(tmp_path_factory.mktemp("janus2"), like=janus_server)
    yield server
    server.stop()


@pytest.fixture
def janus_urls_form(request: pytest.FixtureRequest) -> str:
    """How this test's liveclass names its Janus in JANUS_URLS: ``with-ws-url``
    (``API_URL|WS_URL``, browsers use the WebSocket transport) or ``http-only`` (only
    ``API_URL``, browsers long-poll the HTTP transport). Tests choose with indirect
    parametrization; by default, the long form."""
    form: str = getattr(request, "param", "with-ws-url")
    assert form in ("with-ws-url", "http-only"), form
    return form


@pytest.fixture
def liveclass_port() -> int:
    """The port this test's liveclass server will listen on (Janus must know its origin)."""
    return free_port()


@pytest.fixture
def own_janus(tmp_path: Path, liveclass_port: int) -> Iterator[JanusServer]:
    """A Janus one test may stop and restart without disturbing the others. Its HTTP
    transport allows browsers from this test's liveclass origin only, as in a deployment."""
    server = _start(tmp_path, allow_origin=f"http://127.0.0.1:{liveclass_port}")
    yield server
    server.stop()


@pytest.fixture
def own_pair(tmp_path: Path) -> Iterator[tuple[JanusServer, JanusServer]]:
    """Two fresh Janus servers for one liveclass (shared secrets), empty at the start."""
    first = _start(tmp_path / "a")
    second = _start(tmp_path / "b", like=first)
    yield first, second
    second.stop()
    first.stop()


def janus_backend_for(*servers: JanusServer) -> JanusBackend:
    first = servers[0]
    return JanusBackend(
        [s.url for s in servers],
        credentials_key=secrets.token_bytes(32),
        admin_key=first.admin_secret,
        api_secret=first.api_secret,
    )


LIVEKIT_KEY = "APIcontract"
LIVEKIT_SECRET = "contract-secret-of-at-least-thirty-two-bytes"


@pytest.fixture
def fake_livekit() -> Iterator[FakeLiveKitServer]:
    """A stand-in LiveKit server (Twirp RoomService and Egress) on loopback."""
    with serve_fake_livekit(LIVEKIT_KEY, LIVEKIT_SECRET) as server:
        yield server


def livekit_backend_for(server: FakeLiveKitServer, recordings: Path) -> LiveKitBackend:
    client = LiveKitClient(server.url, api_key=LIVEKIT_KEY, api_secret=LIVEKIT_SECRET, timeout=2.0)
    return LiveKitBackend(
        client_url=server.url.replace("http", "ws", 1),
        client=client,
        api_key=LIVEKIT_KEY,
        api_secret=LIVEKIT_SECRET,
        egress=EgressTarget(directory=str(recordings)),
    )


@pytest.fixture(params=["mesh", pytest.param("janus", marks=pytest.mark.janus), "livekit"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MediaBackend]:
    """Every media backend, for the contract suite."""
    if request.param == "mesh":
        yield MeshBackend()
        return
    if request.param == "livekit":
        livekit = livekit_backend_for(request.getfixturevalue("fake_livekit"), tmp_path)
        yield livekit
        await livekit.aclose()
        return
    server: JanusServer = request.getfixturevalue("janus_server")
    janus = janus_backend_for(server)
    yield janus
    await janus.aclose()


@pytest.fixture
def loopback_ice(monkeypatch: pytest.MonkeyPatch) -> None:
    """aioice leaves 127.0.0.1 out of its host candidates; in the test namespace it is
    the only address there is."""

    def loopback_only(use_ipv4: bool = True, use_ipv6: bool = True) -> list[str]:
        return ["127.0.0.1"]

    monkeypatch.setattr(aioice.ice, "get_host_addresses", loopback_only)


@pytest.fixture
async def liveclass_on_own_janus(
    tmp_path: Path,
    sqlite_template: Path,
    own_janus: JanusServer,
    liveclass_port: int,
    janus_urls_form: str,
) -> AsyncIterator[LiveclassServer]:
    """A liveclass server whose only Janus is this test's own (so the test may stop it)."""
    server = LiveclassServer(
        tmp_path,
        sqlite_template,
        own_janus,
        http_only=janus_urls_form == "http-only",
        port=liveclass_port,
    )
    await server.start()
    yield server
    await server.stop()
