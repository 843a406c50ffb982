"""A role change applies live in the browser: a demoted speaker stops sending, keeps receiving."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import Session, open_page
from tests.e2e.media import participant_id, receives_from, wait_until

pytestmark = pytest.mark.e2e


async def test_demoted_to_viewer_then_promoted_back(browser: Browser, session: Session) -> None:
    session.create()
    teacher = await open_page(browser, session.classroom_url("teacher-1", "Ada Teacher"))
    student = await open_page(browser, session.classroom_url("student-1", "Sam Student"))
    teacher_id, student_id = await participant_id(teacher), await participant_id(student)
    await wait_until(teacher, receives_from([student_id]), what="student's media")

    row = teacher.locator(f'#participants li[data-participant="{student_id}"]')
    await row.locator(".role-select").select_option("viewer")

    await expect(student.locator("#role")).to_have_text("viewer")
    await expect(student.locator("#mic")).to_be_hidden()
    # the link was negotiated again: the student receives the teacher and sends nothing
    await wait_until(
        student,
        lambda s: (
            teacher_id in s and s[teacher_id]["frames"] > 0 and s[teacher_id]["bytesSent"] == 0
        ),
        what="receive-only link after the demotion",
    )
    await expect(student.locator(".tile.mine")).to_have_count(0)

    await row.locator(".role-select").select_option("speaker")
    await expect(student.locator("#role")).to_have_text("speaker")
    await wait_until(teacher, receives_from([student_id]), what="media after the promotion")
