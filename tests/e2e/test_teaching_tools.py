"""Teaching tools in real Chromium: polls and quizzes, reactions, the hand queue, locks,
private chat and the timer, with the host and two students as contexts of one browser."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import Session, open_page
from tests.e2e.media import participant_id

pytestmark = pytest.mark.e2e

# Markup people type must stay text; `window.pwned` is set only if it ever runs.
XSS = "<img src=x onerror=window.pwned=1>"
SAM = "Sam Student"
KIM = f"Kim {XSS}"


async def _open_class(browser: Browser, session: Session) -> tuple[list[Page], list[str]]:
    people = [("teacher-1", "Ada Teacher"), ("student-1", SAM), ("student-2", KIM)]
    pages = [await open_page(browser, session.classroom_url(sub, name)) for sub, name in people]
    return pages, [await participant_id(page) for page in pages]


async def _send_raw(page: Page, message: dict[str, Any]) -> None:
    """What a modified client could send: straight over the socket, past the UI."""
    await page.evaluate("(m) => window.liveclass.client.send(m)", message)


async def _create_poll(
    page: Page,
    question: str,
    options: list[str],
    *,
    quiz_correct: int | None = None,
    anonymous: bool = False,
) -> None:
    """Fill in the host's "New poll" dialog (opened at once)."""
    await page.click("#new-poll")
    await page.fill("#poll-question", question)
    for _ in range(len(options) - 2):
        await page.click(".poll-add-option")
    rows = page.locator(".poll-option-row")
    for i, text in enumerate(options):
        await rows.nth(i).locator(".poll-option-text").fill(text)
    if anonymous:
        await page.check("#poll-anonymous")
    if quiz_correct is not None:
        await page.check("#poll-quiz")
        await rows.nth(quiz_correct).locator(".poll-option-correct").check()
    await page.click(".poll-create")
    await expect(page.locator("#poll-dialog")).to_be_hidden()


async def _answer(page: Page, question: str, option: str) -> None:
    card = page.locator(".poll", has=page.get_by_text(question, exact=True))
    await card.locator(".poll-option", has_text=option).click()
    await card.locator(".poll-send").click()


async def _open_menu(page: Page, menu: str) -> None:
    """Open a dropdown menu (a click elsewhere closes it)."""
    if await page.locator(f"#{menu}").get_attribute("open") is None:
        await page.click(f"#{menu} summary")


def _card(page: Page, question: str) -> Any:
    return page.locator(".poll", has=page.get_by_text(question, exact=True))


async def _no_markup_ran(pages: list[Page]) -> None:
    for page in pages:
        assert await page.locator("#polls img, #participants img, #messages img").count() == 0
        assert await page.evaluate("window.pwned === undefined")


async def test_a_named_quiz_and_an_anonymous_poll(browser: Browser, session: Session) -> None:
    session.create()
    (host, sam, kim), (_, sam_id, kim_id) = await _open_class(browser, session)
    question = f"Which wave needs a medium? {XSS}"
    options = ["Light", f"Sound {XSS}", "Radio"]

    await _create_poll(host, question, options, quiz_correct=1)

    # both students get the open poll, shown as text, without results
    for page in (sam, kim):
        card = _card(page, question)
        await expect(card.locator(".poll-status")).to_have_text("Open")
        await expect(card.locator(".option-text")).to_have_text(options)
        await expect(card.locator(".poll-waiting")).to_be_visible()
        assert await card.locator(".poll-results").count() == 0
    # Sam first picks a wrong answer, then changes it to the right one; Kim stays wrong
    await _answer(sam, question, "Light")
    await expect(_card(sam, question).locator(".poll-you")).to_have_text("Your answer: A")
    await _answer(kim, question, "Radio")
    await _answer(sam, question, "Sound")
    await expect(_card(sam, question).locator(".poll-you")).to_have_text("Your answer: B")

    # the host sees live counts and who answered what
    card = _card(host, question)
    await expect(card.locator(".poll-total")).to_have_text("2 answers")
    await expect(card.locator(".poll-results .count")).to_have_text(["0", "1", "1"])
    await card.locator(".poll-close").click()
    await expect(card.locator(".poll-status")).to_have_text("Closed")
    await expect(card.locator(f'.poll-answers tr[data-participant="{sam_id}"] .mark')).to_have_text(
        "✓"
    )
    kim_row = card.locator(f'.poll-answers tr[data-participant="{kim_id}"]')
    await expect(kim_row.locator(".who")).to_have_text(KIM)
    await expect(kim_row.locator(".choice")).to_have_text("C")
    await expect(kim_row.locator(".mark")).to_have_text("✗")
    scores = host.locator("#quiz-scores")
    await expect(scores.locator(f'li[data-participant="{sam_id}"] .score')).to_have_text("1/1")
    await expect(scores.locator(f'li[data-participant="{kim_id}"] .score')).to_have_text("0/1")

    # closed but not published: the students still see no results nor the right answer
    for page in (sam, kim):
        student_card = _card(page, question)
        await expect(student_card.locator(".poll-status")).to_have_text("Closed")
        await expect(student_card.locator(".poll-waiting")).to_contain_text("not published")
        assert await student_card.locator(".poll-results, .right-mark").count() == 0
    await card.locator(".poll-publish").click()
    for page in (sam, kim):
        results = _card(page, question).locator(".poll-results")
        await expect(results.locator(".count")).to_have_text(["0", "1", "1"])
        await expect(results.locator("li.correct")).to_have_attribute("data-option", "1")
    assert await sam.locator("#quiz-scores li").count() == 0  # scores are the moderators'
    # a page that loads again gets the published quiz, and its own answer, from the welcome
    await kim.reload()
    again = _card(kim, question)
    await expect(again.locator(".poll-results .count")).to_have_text(["0", "1", "1"])
    await expect(again.locator(".poll-you")).to_have_text("Your answer: C")

    # an anonymous poll: counts, and no per-person answers even for the host
    await _create_poll(host, "Lunch at noon?", ["Yes", "No"], anonymous=True)
    await _answer(sam, "Lunch at noon?", "Yes")
    await _answer(kim, "Lunch at noon?", "Yes")
    # one answer each: the server keeps no choice it could replace
    lunch_for_sam = _card(sam, "Lunch at noon?")
    await expect(lunch_for_sam.locator(".poll-you")).to_have_text("Your answer: A")
    assert await lunch_for_sam.locator(".poll-send").count() == 0
    lunch = _card(host, "Lunch at noon?")
    await expect(lunch.locator(".poll-tags")).to_contain_text("anonymous")
    await expect(lunch.locator(".poll-total")).to_have_text("2 answers")
    await expect(lunch.locator(".poll-results .count")).to_have_text(["2", "0"])
    assert await lunch.locator(".poll-answers").count() == 0
    # the host's page, loaded again, has every poll with the scores back
    await host.reload()
    await expect(host.locator("#polls .poll")).to_have_count(2)
    await expect(host.locator(f'#quiz-scores li[data-participant="{kim_id}"] .score')).to_have_text(
        "0/1"
    )
    await _no_markup_ran([host, sam, kim])


async def test_reactions_hands_and_private_chat(browser: Browser, session: Session) -> None:
    session.create()
    (host, sam, kim), (host_id, sam_id, kim_id) = await _open_class(browser, session)

    # a reaction floats over Sam's tile on every page
    for page in (host, kim):
        await expect(page.locator(f'.tile[data-participant="{sam_id}"]')).to_be_visible(
            timeout=20000
        )
    await sam.click("#react-menu summary")
    await sam.click('#react-menu button[data-emoji="👏"]')
    for page in (host, kim):
        tile = page.locator(f'.tile[data-participant="{sam_id}"]')
        await expect(tile.locator(".reaction")).to_have_text("👏")
    await expect(sam.locator(".tile.mine .reaction")).to_have_text("👏")

    # hands queue in the order they went up (Kim first, though Sam joined first)
    await kim.click("#hand")
    await expect(host.locator("#hand-queue li")).to_have_count(1)
    await sam.click("#hand")
    queue = host.locator("#hand-queue li")
    await expect(queue.locator(".who")).to_have_text([KIM, SAM])
    await expect(queue.locator(".position")).to_have_text(["1", "2"])
    await expect(
        host.locator(f'#participants li[data-participant="{sam_id}"] .hand-flag')
    ).to_have_text("hand #2")
    # the host lowers Kim's: Sam moves up, on everyone's page
    await queue.filter(has_text="Kim").locator(".lower-hand").click()
    await expect(host.locator("#hand-queue li .who")).to_have_text([SAM])
    await expect(sam.locator("#hand-queue li .who")).to_have_text([f"{SAM} (you)"])
    await expect(kim.locator("#hand")).to_have_text("Raise hand")
    # then everyone's at once
    await kim.click("#hand")
    await expect(host.locator("#hand-queue li .who")).to_have_text([SAM, KIM])
    await host.click("#lower-all")
    for page in (host, sam, kim):
        await expect(page.locator("#hand-queue-box")).to_be_hidden()
    await expect(sam.locator("#hand")).to_have_text("Raise hand")

    # a private message reaches the host and comes back to Sam, and nobody else
    await sam.select_option("#chat-to", host_id)
    await sam.fill("#chat-input", "Can I leave early?")
    await sam.press("#chat-input", "Enter")
    received = host.locator("#messages li.private")
    await expect(received.locator(".text")).to_have_text("Can I leave early?")
    await expect(received.locator(".from")).to_have_text(SAM)
    await expect(received).to_have_attribute("data-to", host_id)
    sent = sam.locator("#messages li.private")
    await expect(sent.locator(".private-tag")).to_have_text("private to Ada Teacher")
    # the host answers everyone after that; once Kim has it, the private one would be there too
    await host.fill("#chat-input", "Break in five minutes")
    await host.press("#chat-input", "Enter")
    await expect(kim.locator("#messages li .text")).to_have_text(["Break in five minutes"])
    assert await kim.locator("#messages li.private").count() == 0
    await _no_markup_ran([host, sam, kim])
    assert kim_id not in (host_id, sam_id)


async def test_locks_hold_even_against_a_raw_socket(browser: Browser, session: Session) -> None:
    session.create()
    (host, sam, kim), (host_id, sam_id, kim_id) = await _open_class(browser, session)
    sam_video = f"window.liveclass.peers.get('{sam_id}')?.video"
    await host.wait_for_function(f"{sam_video} === true")

    await _open_menu(host, "lock-menu")
    for lock in ("student_chat", "student_camera", "student_private_chat"):
        await host.check(f'#lock-menu input[data-lock="{lock}"]')

    # the students' pages reflect the locks; Sam's camera went off and stays off
    for page in (sam, kim):
        await expect(page.locator("#lock-note")).to_contain_text("chat")
        await expect(page.locator("#chat-input")).to_be_disabled()
        await expect(page.locator("#camera")).to_be_disabled()
    await expect(sam.locator("#camera")).to_have_text("Camera on")
    await host.wait_for_function(f"{sam_video} === false")
    # only the host is left to message privately; that still works
    await expect(sam.locator("#chat-to option")).to_have_count(2)
    await sam.select_option("#chat-to", host_id)
    await expect(sam.locator("#chat-input")).to_be_enabled()
    await sam.select_option("#chat-to", "")
    # the host is never locked
    await expect(host.locator("#chat-input")).to_be_enabled()

    # a client that ignores the page: the server refuses each forbidden message
    for forbidden in (
        {"type": "chat", "text": "sneaky public message"},
        {"type": "media_state", "audio": True, "video": True, "screen": False},
        {"type": "private_chat", "to": kim_id, "text": "sneaky private message"},
    ):
        await sam.evaluate("window.liveclass.notice('')")
        await _send_raw(sam, forbidden)
        await expect(sam.locator("#notice")).to_contain_text("(LOCKED)")
    # after the host's next message, anything Sam's got through would be there already
    await host.fill("#chat-input", "Quiet work now")
    await host.press("#chat-input", "Enter")
    for page in (host, kim):
        await expect(page.locator("#messages li .text")).to_have_text(["Quiet work now"])
    assert await host.evaluate(sam_video) is False

    # unlocked again, the student's page lets them back in
    await _open_menu(host, "lock-menu")
    await host.uncheck('#lock-menu input[data-lock="student_chat"]')
    await expect(sam.locator("#chat-input")).to_be_enabled()
    await expect(sam.locator("#lock-note")).to_have_text(
        "The host has locked: camera, private chat between students."
    )

    # "mute everyone" turns the students' microphones off; the host's stays on
    sam_audio = f"window.liveclass.peers.get('{sam_id}')?.audio"
    await host.wait_for_function(f"{sam_audio} === true")
    await _open_menu(host, "lock-menu")
    await host.click("#lock-menu .mute-all")
    for page in (sam, kim):
        await expect(page.locator("#mic")).to_have_text("Unmute")
        await expect(page.locator("#notice")).to_contain_text("turn off your microphone")
    await host.wait_for_function(f"{sam_audio} === false")
    await expect(host.locator("#mic")).to_have_text("Mute")


async def test_the_timer_shows_on_a_page_that_joins_late(
    browser: Browser, session: Session
) -> None:
    session.create()
    host = await open_page(browser, session.classroom_url("teacher-1", "Ada Teacher"))
    await participant_id(host)
    await _open_menu(host, "timer-menu")
    await host.fill(".timer-minutes", "10")
    await host.fill(".timer-label-input", f"Group work {XSS}")
    await host.click(".timer-start")
    await expect(host.locator("#timer .timer-label")).to_have_text(f"Group work {XSS}")

    late = await open_page(browser, session.classroom_url("student-1", SAM))
    badge = late.locator("#timer")
    await expect(badge).to_have_attribute("data-state", "running")
    await expect(badge.locator(".timer-time")).to_have_text(re.compile(r"^(10:00|9:[0-5]\d)$"))
    await expect(badge.locator(".timer-label")).to_have_text(f"Group work {XSS}")
    assert await late.locator("#timer img").count() == 0
    # students get no timer controls
    await expect(late.locator("#timer-menu")).to_be_hidden()

    await _open_menu(host, "timer-menu")
    await host.click(".timer-pause")
    await expect(badge).to_have_attribute("data-state", "paused")
    await _open_menu(host, "timer-menu")
    await host.click(".timer-stop")
    for page in (host, late):
        await expect(page.locator("#timer")).to_be_hidden()
