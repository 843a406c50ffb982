"""What the classroom says when things are not fine: camera denied, class over, no token."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, async_playwright, expect

from tests.e2e.conftest import Session, open_page
from tests.e2e.media import participant_id
from tests.support.chromium import CHROMIUM, CHROMIUM_FLAGS

pytestmark = pytest.mark.e2e

# The same browser, except that the fake permission prompt answers "deny".
DENYING_FLAGS = [
    "--use-fake-ui-for-media-stream=deny" if flag == "--use-fake-ui-for-media-stream" else flag
    for flag in CHROMIUM_FLAGS
]


async def test_a_denied_camera_gets_a_clear_message_and_the_class_goes_on(
    browser: Browser, session: Session
) -> None:
    session.create()
    teacher = await open_page(browser, session.classroom_url("teacher-1", "Ada Teacher"))
    await participant_id(teacher)
    async with async_playwright() as pw:
        denying = await pw.chromium.launch(executable_path=CHROMIUM, args=DENYING_FLAGS)
        context = await denying.new_context(bypass_csp=True)
        student = await context.new_page()
        await student.goto(session.classroom_url("student-1", "Sam Student"))

        await expect(student.locator("#notice")).to_contain_text("Camera or microphone blocked")
        await expect(student.locator("#status")).to_have_text("connected")
        await student.fill("#chat-input", "I can only type today")
        await student.press("#chat-input", "Enter")
        await expect(teacher.locator("#messages li .text")).to_have_text("I can only type today")
        await denying.close()


async def test_an_ended_class_says_so_on_open(browser: Browser, session: Session) -> None:
    session.create()
    url = session.classroom_url("student-1", "Sam Student")
    ended = session._call("POST", f"/api/v1/sessions/{session.id}/end", session.teacher_token())
    assert ended.status_code == 200, ended.text

    page = await open_page(browser, url)

    await expect(page.locator("#notice")).to_have_text("The class has ended.")
    await expect(page.locator("#status")).to_have_text("closed")


async def test_a_link_without_a_token_says_so(browser: Browser, session: Session) -> None:
    session.create()
    page = await open_page(browser, f"{session.server.base_url}/classroom/{session.id}")
    await expect(page.locator("#notice")).to_contain_text("has no access token")


async def test_waiting_room_then_admitted_by_the_host(browser: Browser, session: Session) -> None:
    session.create(waiting_room=True)
    teacher = await open_page(browser, session.classroom_url("teacher-1", "Ada Teacher"))
    await participant_id(teacher)
    student = await open_page(browser, session.classroom_url("student-1", "Wanda <Waiting>"))
    student_id = await participant_id(student)

    await expect(student.locator("#notice")).to_have_text("Waiting for the host to let you in…")
    row = teacher.locator(f'#waiting li[data-participant="{student_id}"]')
    await expect(row.locator(".who")).to_have_text("Wanda <Waiting>")
    await row.get_by_role("button", name="Admit").click()

    await expect(student.locator("#notice")).to_be_hidden()
    await expect(
        teacher.locator(f'#participants li[data-participant="{student_id}"]')
    ).to_have_count(1)
