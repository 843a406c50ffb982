"""Screenshots of the classroom for the README (host and student views of one class).

    scripts/netns-run .venv/bin/python -m tests.e2e.screenshots

Writes docs/img/classroom-host.png and docs/img/classroom-student.png.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from playwright.async_api import async_playwright, expect

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
            await browser.close()
        return [host, student]
    finally:
        server.stop()


def main() -> None:
    if not in_private_network_namespace():
        raise SystemExit("run inside a private network namespace: scripts/netns-run ...")
    with tempfile.TemporaryDirectory(prefix="liveclass-shots-") as tmp:
        upgrade(f"sqlite+aiosqlite:///{Path(tmp) / 'shots.db'}")
        for path in asyncio.run(shoot(Path(tmp))):
            print(path)


if __name__ == "__main__":
    main()
