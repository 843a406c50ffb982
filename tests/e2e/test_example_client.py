"""The minimal example page: the client library alone is enough to join a class."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import Session, open_page
from tests.e2e.media import participant_id

pytestmark = pytest.mark.e2e


async def test_the_example_client_sees_the_teacher_and_reads_chat(
    browser: Browser, session: Session
) -> None:
    session.create()
    teacher = await open_page(browser, session.classroom_url("teacher-1", "Ada Teacher"))
    teacher_id = await participant_id(teacher)
    joined = session.join("student-1", "Sam Student").json()
    example = await open_page(
        browser,
        f"{session.server.base_url}/example#session={session.id}&token={joined['access_token']}",
    )

    await expect(example.locator("#status")).to_have_text("connected")
    video = example.locator(f"#v-{teacher_id}-camera")
    await expect(video).to_have_count(1)
    await example.wait_for_function(
        "(id) => document.getElementById(id).requestVideoFrameCallback"
        " && document.getElementById(id).readyState >= 2",
        arg=f"v-{teacher_id}-camera",
        timeout=20000,
    )
    await teacher.fill("#chat-input", "<b>hello</b> example")
    await teacher.press("#chat-input", "Enter")
    await expect(example.locator("#chat li")).to_have_text("Ada Teacher: <b>hello</b> example")
