"""Real classes in real Chromium: three people see and hear each other, chat, share a screen."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import ServerProcess, Session, open_page
from tests.e2e.media import media_stats, participant_id, receives_from, wait_until

pytestmark = pytest.mark.e2e


async def _open_class(browser: Browser, session: Session) -> tuple[list[Page], list[str]]:
    """The teacher and two students open their links; returns pages and participant ids."""
    people = [
        ("teacher-1", "Ada Teacher"),
        ("student-1", "Sam <b>Student</b>"),
        ("student-2", "Kim Student"),
    ]
    pages = [await open_page(browser, session.classroom_url(sub, name)) for sub, name in people]
    return pages, [await participant_id(page) for page in pages]


async def test_three_people_see_hear_chat_and_share_a_screen(
    browser: Browser, session: Session
) -> None:
    session.create()
    pages, pids = await _open_class(browser, session)

    # every page decodes video and receives audio energy from both other publishers
    for page, me in zip(pages, pids, strict=True):
        others = [pid for pid in pids if pid != me]
        await wait_until(page, receives_from(others), what=f"media on {me}'s page")
        await expect(page.locator("#status")).to_have_text("connected")

    # chat reaches everyone, shown as text (the markup in the name stays literal)
    await pages[1].fill("#chat-input", "hello <i>class</i>")
    await pages[1].press("#chat-input", "Enter")
    for page in pages:
        message = page.locator("#messages li").last
        await expect(message.locator(".text")).to_have_text("hello <i>class</i>")
        await expect(message.locator(".from")).to_have_text("Sam <b>Student</b>")
        assert await page.locator("#messages i, #messages b").count() == 0

    # the title is shown as typed, never interpreted
    await expect(pages[0].locator("#title")).to_have_text("Physics <script>alert(1)</script>")

    # raised hands show in everyone's participant list
    await pages[2].click("#hand")
    for page in pages:
        row = page.locator(f'#participants li[data-participant="{pids[2]}"]')
        await expect(row.locator(".hand-flag")).to_be_visible()

    # the teacher shares a screen: a second video stream from the teacher on both students
    await pages[0].click("#screen")
    await expect(pages[0].locator("#screen")).to_have_text("Stop sharing")
    for page in pages[1:]:
        await wait_until(page, receives_from([pids[0]], video_streams=2), what="screen share")
        await expect(page.locator(f'.tile.screen[data-participant="{pids[0]}"]')).to_be_visible()


async def test_a_viewer_receives_without_uploading(browser: Browser, session: Session) -> None:
    session.create(default_role="viewer")
    teacher = await open_page(browser, session.classroom_url("teacher-1", "Ada Teacher"))
    viewer = await open_page(browser, session.classroom_url("student-1", "Vic Viewer"))
    teacher_id, viewer_id = await participant_id(teacher), await participant_id(viewer)

    stats = await wait_until(viewer, receives_from([teacher_id]), what="viewer receives")
    assert stats[teacher_id]["bytesSent"] == 0
    await expect(viewer.locator("#mic")).to_be_hidden()
    await expect(viewer.locator("#screen")).to_be_hidden()
    # the teacher's link to the viewer carries nothing inbound
    teacher_stats = await media_stats(teacher)
    assert teacher_stats[viewer_id]["frames"] == 0
    assert teacher_stats[viewer_id]["audioEnergy"] == 0
    assert teacher_stats[viewer_id]["bytesSent"] > 0


async def test_kicked_student_is_disconnected_and_cannot_rejoin(
    browser: Browser, session: Session
) -> None:
    session.create()
    teacher = await open_page(browser, session.classroom_url("teacher-1", "Ada Teacher"))
    student = await open_page(browser, session.classroom_url("student-1", "Sam Student"))
    student_id = await participant_id(student)
    await participant_id(teacher)

    await teacher.locator(f'#participants li[data-participant="{student_id}"] .kick').click()

    await expect(student.locator("#notice")).to_have_text("You were removed from this class.")
    await expect(student.locator("#status")).to_have_text("closed")
    gone = teacher.locator(f'#participants li[data-participant="{student_id}"]')
    await expect(gone).to_have_count(0)
    rejoin = session.join("student-1", "Sam Student")
    assert rejoin.status_code == 403
    assert rejoin.json()["code"] == "KICKED"
    await student.reload()
    await expect(student.locator("#notice")).to_contain_text("removed")


async def test_ending_the_class_closes_every_page(browser: Browser, session: Session) -> None:
    session.create()
    pages, _ = await _open_class(browser, session)

    await pages[0].click("#end")

    for page in pages:
        await expect(page.locator("#notice")).to_have_text("The class has ended.")
        await expect(page.locator("#status")).to_have_text("closed")
        await expect(page.locator(".tile")).to_have_count(0)


async def test_a_server_restart_ends_in_a_resumed_call(
    browser: Browser, session: Session, server: ServerProcess
) -> None:
    session.create()
    teacher = await open_page(browser, session.classroom_url("teacher-1", "Ada Teacher"))
    student = await open_page(browser, session.classroom_url("student-1", "Sam Student"))
    teacher_id, student_id = await participant_id(teacher), await participant_id(student)
    await wait_until(student, receives_from([teacher_id]))
    # mark the current connection, to tell it from the one negotiated after the restart
    mark = """(pid) => {
        const pc = window.liveclass.media.links.get(pid).pc;
        pc.beforeRestart = true;
        return pc.connectionState;
    }"""
    assert await student.evaluate(mark, teacher_id) == "connected"

    server.restart()

    for page in (teacher, student):
        await expect(page.locator("#status")).to_have_text("connected", timeout=20000)
    # the links were negotiated again over the new server, and frames flow on them
    await wait_until(student, receives_from([teacher_id]), what="media after restart")
    await wait_until(teacher, receives_from([student_id]), what="media after restart")
    fresh = "(pid) => !window.liveclass.media.links.get(pid).pc.beforeRestart"
    assert await student.evaluate(fresh, teacher_id)
    async with httpx.AsyncClient() as client:
        health = await client.get(server.base_url + "/healthz")
    assert health.status_code == 200
