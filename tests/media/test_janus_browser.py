"""A Janus class in real Chromium through the real liveclass server: the teacher
publishes, students decode, a promoted student publishes, kick and end reach Janus.

Tests marked ``BOTH_FORMS`` run once with ``JANUS_URLS=API_URL|WS_URL`` (browsers on the
WebSocket transport) and once with only ``API_URL`` (browsers long-poll the HTTP transport,
cross-origin, on a Janus that allows just the liveclass origin)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from tests.conftest import Platform
from tests.media.browser import (
    JanusClass,
    LiveclassServer,
    decodes,
    lacks,
    open_classroom,
    open_harness,
    wait_for,
)
from tests.media.janus_peer import JanusSession
from tests.media.janus_server import JanusServer
from tests.support.chromium import CHROMIUM, CHROMIUM_FLAGS

pytestmark = [pytest.mark.janus, pytest.mark.e2e]

BOTH_FORMS = pytest.mark.parametrize("janus_urls_form", ["with-ws-url", "http-only"], indirect=True)


@pytest.fixture
def class_janus(request: pytest.FixtureRequest, janus_urls_form: str) -> JanusServer:
    """The Janus of this test's class. WebSockets need no CORS, so the shared Janus (any
    origin) does; over HTTP a Janus of its own allows this liveclass's origin only."""
    name = "janus_server" if janus_urls_form == "with-ws-url" else "own_janus"
    server: JanusServer = request.getfixturevalue(name)
    return server


@pytest.fixture
async def liveclass(
    tmp_path: Path,
    sqlite_template: Path,
    class_janus: JanusServer,
    janus_urls_form: str,
    liveclass_port: int,
) -> AsyncIterator[LiveclassServer]:
    server = LiveclassServer(
        tmp_path,
        sqlite_template,
        class_janus,
        http_only=janus_urls_form == "http-only",
        port=liveclass_port,
    )
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def janus_class(liveclass: LiveclassServer) -> AsyncIterator[JanusClass]:
    lesson = JanusClass(liveclass, Platform())
    await lesson.create_and_start()
    yield lesson
    await lesson.aclose()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        await chromium.close()


async def room_exists(janus: JanusServer, room: int) -> bool:
    session = JanusSession(janus.url, janus.api_secret)
    await session.open()
    try:
        handle = await session.attach()
        data, _ = await session.message(handle, {"request": "exists", "room": room})
    finally:
        await session.close()
    return bool(data["exists"])


async def test_a_janus_class_in_chromium(
    browser: Browser,
    janus_class: JanusClass,
    liveclass: LiveclassServer,
    class_janus: JanusServer,
) -> None:
    teacher = await janus_class.join("teacher-1")
    assert teacher["media"]["provider"] == "janus"
    ana, ben = await janus_class.join("ana"), await janus_class.join("ben")
    assert ana["media"]["can_publish"] is False
    assert ana["media"]["token"] is None  # Janus itself will refuse her as a publisher
    pages = {
        who["user_id"]: await open_harness(
            browser, liveclass.base_url, janus_class.id, who["access_token"]
        )
        for who in (teacher, ana, ben)
    }
    teacher_feed = f"{teacher['participant_id']}:camera"
    for student in ("ana", "ben"):
        await wait_for(pages[student], decodes(teacher_feed), what=f"{student} sees the teacher")
    stats = await wait_for(pages["ana"], lambda s: s["status"] == "connected", what="connected")
    assert stats["publishing"] == []  # a viewer sends nothing, though she has a camera

    # promoted, Ana publishes the camera she already holds; everyone decodes her
    await janus_class.change_role(ana["participant_id"], "speaker")
    ana_feed = f"{ana['participant_id']}:camera"
    for who in ("teacher-1", "ben"):
        await wait_for(pages[who], decodes(ana_feed), what=f"{who} sees promoted Ana")

    # kicked, her feed leaves the room for everyone
    await janus_class.kick(ana["participant_id"])
    for who in ("teacher-1", "ben"):
        await wait_for(pages[who], lacks(ana_feed), what=f"{who} no longer sees Ana")

    # ending the class destroys the Janus room
    await janus_class.end()
    assert not await room_exists(class_janus, int(teacher["media"]["room"]))
    for page in pages.values():
        await page.context.close()


@BOTH_FORMS
async def test_the_class_comes_back_after_a_janus_restart(
    browser: Browser, liveclass_on_own_janus: LiveclassServer, own_janus: JanusServer
) -> None:
    lesson = JanusClass(liveclass_on_own_janus, Platform())
    await lesson.create_and_start()
    teacher, ana = await lesson.join("teacher-1"), await lesson.join("ana")
    base = liveclass_on_own_janus.base_url
    host = await open_harness(browser, base, lesson.id, teacher["access_token"])
    student = await open_harness(browser, base, lesson.id, ana["access_token"], camera=False)
    teacher_feed = f"{teacher['participant_id']}:camera"
    await wait_for(student, decodes(teacher_feed), what="Ana sees the teacher")

    own_janus.restart()  # every room and session on it is gone

    for page in (host, student):
        await wait_for(page, lambda s: s["builds"] >= 2, within=30, what="rebuilt on Janus")
    await wait_for(student, decodes(teacher_feed), within=30, what="Ana sees the teacher again")
    for page in (host, student):
        await page.context.close()
    await lesson.end()
    await lesson.aclose()


@BOTH_FORMS
async def test_the_classroom_page_runs_a_janus_class(
    browser: Browser, janus_class: JanusClass, class_janus: JanusServer, janus_urls_form: str
) -> None:
    teacher = await janus_class.join("teacher-1")
    # the page is handed the URL JANUS_URLS names for browsers, never one made up from it
    expected = class_janus.url if janus_urls_form == "http-only" else class_janus.ws_url
    assert teacher["media"]["client_url"] == expected
    ana, ben = await janus_class.join("ana"), await janus_class.join("ben")
    pages = {
        who["user_id"]: await open_classroom(browser, who["classroom_url"])
        for who in (teacher, ana, ben)
    }
    teacher_feed = f"{teacher['participant_id']}:camera"
    for student in ("ana", "ben"):
        await wait_for(pages[student], decodes(teacher_feed), what=f"{student} sees the teacher")

    # the teacher shares a screen: a second publisher feed
    await pages["teacher-1"].click("#screen")
    screen_feed = f"{teacher['participant_id']}:screen"
    await wait_for(pages["ben"], decodes(screen_feed, 3), what="Ben sees the shared screen")

    # promoted, Ana's classroom turns her camera on and everyone decodes it
    await janus_class.change_role(ana["participant_id"], "speaker")
    ana_feed = f"{ana['participant_id']}:camera"
    for who in ("teacher-1", "ben"):
        await wait_for(pages[who], decodes(ana_feed), what=f"{who} sees promoted Ana")

    # demoted again, her feed leaves (Janus kicked it; her page unpublished)
    await janus_class.change_role(ana["participant_id"], "viewer")
    for who in ("teacher-1", "ben"):
        await wait_for(pages[who], lacks(ana_feed), what=f"{who} no longer sees Ana")
    for page in pages.values():
        await page.context.close()
