"""Screenshots of the classroom for the README (host and student views of one class).

    scripts/netns-run .venv/bin/python -m tests.e2e.screenshots

Writes docs/img/classroom-host.png and docs/img/classroom-student.png, then, with a quiz
open, docs/img/classroom-host-poll.png and docs/img/classroom-student-poll.png.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from playwright.async_api import Page, async_playwright, expect

from liveclass.db.migrate import upgrade
from tests.conftest import Platform
from tests.e2e.conftest import (
    ServerProcess,
    Session,
    in_private_network_namespace,
    open_page,
)
from tests.e2e.media import participant_id, receives_from, wait_until
from tests.support.chromium import CHROMIUM, CHROMIUM_FLAGS
from tests.support.servers import free_port

OUT = Path(__file__).resolve().parents[2] / "docs" / "img"


async def shoot(workdir: Path) -> list[Path]:
    db = workdir / "shots.db"
    server = ServerProcess(f"sqlite+aiosqlite:///{db}", free_port(), workdir / "server.log")
    server.start()
    try:
        session = Session(server, Platform()).create(title="Physics 101 — Waves and sound")
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            people = [
                ("teacher-1", "Ada Teacher"),
                ("student-1", "Sam Student"),
                ("student-2", "Kim Student"),
            ]
            pages = [await open_page(browser, session.classroom_url(s, n)) for s, n in people]
            pids = [await participant_id(p) for p in pages]
            for page, me in zip(pages, pids, strict=True):
                await wait_until(page, receives_from([p for p in pids if p != me]))
            await pages[1].click("#hand")
            for page, text in (
                (pages[0], "Welcome! Today: standing waves."),
                (pages[1], "Can you show the slide again?"),
                (pages[2], "Thanks, the audio is clear."),
            ):
                await page.fill("#chat-input", text)
                await page.press("#chat-input", "Enter")
            await pages[0].click("#screen")
            await wait_until(pages[1], receives_from([pids[0]], video_streams=2))
            await expect(pages[1].locator(".tile.screen")).to_have_count(1)
            await expect(pages[0].locator("#messages li")).to_have_count(3)
            await expect(pages[1].locator("#messages li")).to_have_count(3)
            await asyncio.sleep(1.0)  # let every tile paint a few frames
            OUT.mkdir(parents=True, exist_ok=True)
            host, student = OUT / "classroom-host.png", OUT / "classroom-student.png"
            await pages[0].screenshot(path=str(host))
            await pages[1].screenshot(path=str(student))
            polls = await shoot_poll(pages)
            await browser.close()
        return [host, student, *polls]
    finally:
        server.stop()


async def shoot_poll(pages: list[Page]) -> list[Path]:
    """The same class a little later: a timer runs, a quiz is open, two have answered."""
    host, sam, kim = pages
    await host.click("#screen")  # stop sharing
    await expect(host.locator(".tile.screen")).to_have_count(0)
    await host.click("#timer-menu summary")
    await host.fill(".timer-minutes", "5")
    await host.fill(".timer-label-input", "Quiz")
    await host.click(".timer-start")
    await host.click("#timer-menu summary")  # close the menu again
    await host.click("#new-poll")
    await host.fill("#poll-question", "Which of these waves needs a medium to travel?")
    await host.click(".poll-add-option")
    rows = host.locator(".poll-option-row")
    for i, text in enumerate(["Light", "Sound", "Radio waves"]):
        await rows.nth(i).locator(".poll-option-text").fill(text)
    await host.check("#poll-quiz")
    await rows.nth(1).locator(".poll-option-correct").check()
    await host.click(".poll-create")
    for page, option in ((sam, "Sound"), (kim, "Light")):
        card = page.locator(".poll").first
        await card.locator(".poll-option", has_text=option).click()
        await card.locator(".poll-send").click()
    await expect(host.locator(".poll-total")).to_have_text("2 answers")
    await expect(sam.locator(".poll-you")).to_have_text("Your answer: B")
    await kim.click("#hand")
    await expect(host.locator("#hand-queue li")).to_have_count(2)  # Sam raised first
    await sam.click("#react-menu summary")
    await sam.click('#react-menu button[data-emoji="👍"]')
    await expect(host.locator(".tile .reaction")).to_have_count(1)
    await asyncio.sleep(0.6)  # the reaction has floated in
    host_shot, student_shot = OUT / "classroom-host-poll.png", OUT / "classroom-student-poll.png"
    await host.screenshot(path=str(host_shot))
    await sam.screenshot(path=str(student_shot))
    return [host_shot, student_shot]


def main() -> None:
    if not in_private_network_namespace():
        raise SystemExit("run inside a private network namespace: scripts/netns-run ...")
    with tempfile.TemporaryDirectory(prefix="liveclass-shots-") as tmp:
        upgrade(f"sqlite+aiosqlite:///{Path(tmp) / 'shots.db'}")
        for path in asyncio.run(shoot(Path(tmp))):
            print(path)


if __name__ == "__main__":
    main()
