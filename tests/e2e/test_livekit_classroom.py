"""The classroom page of a LiveKit class in real Chromium: it loads livekit-client from
liveclass and opens its signal connection to LIVEKIT_URL with the token liveclass minted.

No LiveKit server can be installed here: LIVEKIT_URL is a test WebSocket endpoint that
records the connection (tests/support/livekit_signal.py), the server API is the fake Twirp
LiveKit (tests/support/fake_livekit.py). Media through LiveKit is not tested.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from livekit.api import TokenVerifier
from playwright.async_api import Browser, BrowserContext, Page, Response, expect

from liveclass.web.pages import LIVEKIT_CLIENT
from tests.conftest import Platform
from tests.e2e.conftest import ServerProcess, Session
from tests.support.fake_livekit import FakeLiveKitServer, serve_fake_livekit
from tests.support.livekit_signal import LiveKitSignalEndpoint, SignalRequest, serve_livekit_signal
from tests.support.servers import free_port

pytestmark = pytest.mark.e2e

KEY = "APIbrowser"
SECRET = "browser-secret-of-at-least-thirty-two-bytes"
CLIENT_PATH = "/vendor/livekit-client.js"


@pytest.fixture
def livekit_api() -> Iterator[FakeLiveKitServer]:
    with serve_fake_livekit(KEY, SECRET) as server:
        yield server


@pytest.fixture
def signal() -> Iterator[LiveKitSignalEndpoint]:
    with serve_livekit_signal() as endpoint:
        yield endpoint


def livekit_liveclass(
    tmp_path: Path, sqlite_template: Path, api: FakeLiveKitServer, signal: LiveKitSignalEndpoint
) -> ServerProcess:
    path = tmp_path / "liveclass.db"
    shutil.copy(sqlite_template, path)
    server = ServerProcess(f"sqlite+aiosqlite:///{path}", free_port(), tmp_path / "server.log")
    server.env |= {
        "LIVEKIT_URL": signal.url,
        "LIVEKIT_API_URL": api.url,
        "LIVEKIT_API_KEY": KEY,
        "LIVEKIT_API_SECRET": SECRET,
    }
    return server


@pytest.fixture
def liveclass(
    tmp_path: Path,
    sqlite_template: Path,
    livekit_api: FakeLiveKitServer,
    signal: LiveKitSignalEndpoint,
) -> Iterator[ServerProcess]:
    assert LIVEKIT_CLIENT.is_file(), "no livekit-client in the package: run scripts/install"
    server = livekit_liveclass(tmp_path, sqlite_template, livekit_api, signal)
    server.start()
    yield server
    server.stop()


async def open_classroom(browser: Browser, url: str) -> tuple[Page, list[Response]]:
    """The page under its own CSP (no bypass); every response it got, to see what it loaded."""
    context: BrowserContext = await browser.new_context(permissions=["camera", "microphone"])
    page = await context.new_page()
    responses: list[Response] = []
    page.on("response", lambda response: responses.append(response))
    await page.goto(url)
    return page, responses


async def responses_to(loaded: list[Response], url: str, within: float = 30) -> list[Response]:
    """The page's responses from ``url``, once there is one: the classroom imports
    livekit-client only after its own socket is connected (``#status``), so the module's
    response may come a little after that."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = [r for r in loaded if r.url == url]
        if found:
            return found
        await asyncio.sleep(0.1)
    return []


async def signal_of(
    signal: LiveKitSignalEndpoint, identity: str, within: float = 30
) -> SignalRequest:
    """The first signal connection whose token names ``identity`` (checked with
    livekit-api's TokenVerifier: signed by liveclass with the API secret)."""
    verifier = TokenVerifier(KEY, SECRET)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for request in signal.seen():
            token = request.access_token
            if request.upgrade and token and verifier.verify(token).identity == identity:
                return request
        await asyncio.sleep(0.1)
    raise AssertionError(f"no signal connection for {identity}: {signal.seen()}")


def grants(token: str) -> dict[str, Any]:
    claims = TokenVerifier(KEY, SECRET).verify(token)
    video = claims.video
    assert video is not None
    return {
        "identity": claims.identity,
        "name": claims.name,
        "metadata": json.loads(claims.metadata),
        "room_join": video.room_join,
        "room": video.room,
        "can_publish": video.can_publish,
        "sources": sorted(video.can_publish_sources or []),
        "can_subscribe": video.can_subscribe,
        "can_publish_data": video.can_publish_data,
        "room_admin": bool(video.room_admin),
        "room_record": bool(video.room_record),
    }


async def test_the_classroom_connects_livekit_client_to_livekit_url_with_the_role_token(
    browser: Browser, liveclass: ServerProcess, signal: LiveKitSignalEndpoint
) -> None:
    lesson = Session(liveclass, Platform()).create(provider="livekit", default_role="viewer")
    joined = lesson.join("ana", "Ana").json()
    assert joined["media"]["server_url"] == signal.url
    student, loaded = await open_classroom(browser, joined["classroom_url"])
    teacher, _ = await open_classroom(browser, lesson.classroom_url("teacher-1", "Ada Teacher"))

    # livekit-client came from liveclass itself, as a JavaScript module
    await expect(student.locator("#status")).to_have_text("connected")
    served = await responses_to(loaded, liveclass.base_url + CLIENT_PATH)
    assert [r.status for r in served] == [200]
    assert (await served[0].header_value("content-type") or "").startswith("text/javascript")

    # its signal connection: the path livekit-client 2.x uses, a token for each role
    ana = await signal_of(signal, "ana")
    assert ana.path == "/rtc/v1"
    assert grants(ana.access_token or "") == {
        "identity": "ana",
        "name": "Ana",
        "metadata": {"participant_id": joined["participant_id"], "role": "viewer"},
        "room_join": True,
        "room": lesson.id,
        "can_publish": False,
        "sources": [],
        "can_subscribe": True,
        "can_publish_data": True,
        "room_admin": False,
        "room_record": False,
    }
    host = grants((await signal_of(signal, "teacher-1")).access_token or "")
    assert {
        k: host[k] for k in ("room", "can_publish", "sources", "room_admin", "room_record")
    } == {
        "room": lesson.id,
        "can_publish": True,
        "sources": ["camera", "microphone", "screen_share", "screen_share_audio"],
        "room_admin": True,
        "room_record": True,
    }
    # chat stays on liveclass's socket
    await student.fill("#chat-input", "hello over the classroom socket")
    await student.press("#chat-input", "Enter")
    await expect(teacher.locator("#messages li .text")).to_have_text(
        "hello over the classroom socket"
    )
    for page in (student, teacher):
        await page.context.close()


async def test_without_livekit_client_the_classroom_says_so_and_chat_goes_on(
    browser: Browser,
    tmp_path: Path,
    sqlite_template: Path,
    livekit_api: FakeLiveKitServer,
    signal: LiveKitSignalEndpoint,
) -> None:
    server = livekit_liveclass(tmp_path, sqlite_template, livekit_api, signal)
    server.env["LIVEKIT_CLIENT_JS"] = str(tmp_path / "not-installed" / "livekit-client.esm.mjs")
    server.start()
    try:
        lesson = Session(server, Platform()).create(provider="livekit", default_role="viewer")
        student, _ = await open_classroom(browser, lesson.classroom_url("ana", "Ana"))
        notice = student.locator("#notice")
        await expect(notice).to_contain_text("This server has no livekit-client")
        await expect(notice).to_contain_text("scripts/install")
        await expect(student.locator("#status")).to_have_text("connected")
        await student.context.close()
    finally:
        server.stop()
    assert signal.seen() == []
