"""Benchmark (issue 4): the teacher's upload as the class grows, mesh against Janus, and
join-to-first-frame under Janus.

Runs a real Janus, a real liveclass server and Debian Chromium inside a private network
namespace, and writes its figures into the "## Janus SFU (issue 4)" section of
docs/benchmarks.md::

    scripts/netns-run .venv/bin/python bench/janus_upload.py
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from playwright.async_api import Browser, Page, async_playwright
from tests.support.chromium import CHROMIUM, CHROMIUM_FLAGS

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.media (harness, Janus launcher)

from tests.conftest import Platform  # noqa: E402
from tests.media.browser import (  # noqa: E402
    JanusClass,
    LiveclassServer,
    open_harness,
    page_stats,
    wait_for,
)
from tests.media.janus_server import JanusServer  # noqa: E402

from liveclass.db.migrate import upgrade  # noqa: E402

RECEIVERS = (1, 2, 4, 8)
WINDOW_S = 6.0  # upload is averaged over this long once every receiver decodes
JOINS = 12
SECTION = "## Janus SFU (issue 4)"
MESH_NOTE = """
Mesh sends one copy per receiver, each with its own encoder and bandwidth estimate; where
its ratio falls below the receiver count, the sending page ran short of CPU and encoded at
lower rates, so receivers got less than the upload figure alone suggests.
"""


@dataclass
class UploadFigure:
    provider: str
    receivers: int
    bytes_per_s: float


async def teacher_upload(
    browser: Browser, server: LiveclassServer, provider: str, receivers: int
) -> UploadFigure:
    lesson = JanusClass(server, Platform())
    await lesson.create_and_start(provider=provider, max_participants=receivers + 2)
    pages: list[Page] = []
    try:
        teacher = await lesson.join("teacher-1")
        host = await open_harness(
            browser, server.base_url, lesson.id, teacher["access_token"], provider=provider
        )
        pages.append(host)
        feed = f"{teacher['participant_id']}:camera"
        for n in range(receivers):
            student = await lesson.join(f"student-{n}")
            pages.append(
                await open_harness(
                    browser,
                    server.base_url,
                    lesson.id,
                    student["access_token"],
                    camera=False,
                    provider=provider,
                )
            )
        for page in pages[1:]:
            await wait_for(
                page,
                lambda s: s["feeds"].get(feed, 0) > 0,
                within=40,
                what="receiver decodes the teacher",
            )
        await asyncio.sleep(3.0)  # let bandwidth estimation settle
        before = await page_stats(host)
        started = asyncio.get_running_loop().time()
        await asyncio.sleep(WINDOW_S)
        after = await page_stats(host)
        elapsed = asyncio.get_running_loop().time() - started
        rate = (after["bytesSent"] - before["bytesSent"]) / elapsed
        return UploadFigure(provider, receivers, rate)
    finally:
        for page in pages:
            await page.context.close()
        await lesson.end()
        await lesson.aclose()


async def join_to_first_frame(browser: Browser, server: LiveclassServer) -> list[float]:
    """Milliseconds from a student's page connecting to its first rendered teacher frame."""
    lesson = JanusClass(server, Platform())
    await lesson.create_and_start(provider="janus")
    teacher = await lesson.join("teacher-1")
    host = await open_harness(browser, server.base_url, lesson.id, teacher["access_token"])
    feed = f"{teacher['participant_id']}:camera"
    await wait_for(host, lambda s: "camera" in s["publishing"], what="teacher publishes")
    samples: list[float] = []
    try:
        for n in range(JOINS):
            student = await lesson.join(f"joiner-{n}")
            page = await open_harness(
                browser, server.base_url, lesson.id, student["access_token"], camera=False
            )
            stats = await wait_for(
                page, lambda s: feed in s["firstFrameAt"], within=20, what="first frame"
            )
            samples.append(stats["firstFrameAt"][feed] - stats["startedAt"])
            await page.context.close()
    finally:
        await host.context.close()
        await lesson.end()
        await lesson.aclose()
    return samples


def render(figures: list[UploadFigure], joins: list[float]) -> str:
    lines = [
        SECTION,
        "",
        "`scripts/netns-run .venv/bin/python bench/janus_upload.py` — one run, one machine:",
        "real Janus 1.1.2 (deploy/janus config), liveclass under uvicorn, Debian Chromium",
        "(fake 640x480 camera, video only), all in one private network namespace. The teacher",
        "page's outbound bytes/s come from `getStats()` (`outbound-rtp` `bytesSent`) over",
        f"{WINDOW_S:.0f} s once every receiver decodes the teacher.",
        "",
        "| receivers | mesh upload (kB/s) | mesh vs 1 | Janus upload (kB/s) | Janus vs 1 |",
        "|---:|---:|---:|---:|---:|",
    ]
    by = {(f.provider, f.receivers): f.bytes_per_s for f in figures}
    for n in RECEIVERS:
        mesh, janus = by[("mesh", n)], by[("janus", n)]
        lines.append(
            f"| {n} | {mesh / 1000:.1f} | {mesh / by[('mesh', 1)]:.2f}x "
            f"| {janus / 1000:.1f} | {janus / by[('janus', 1)]:.2f}x |"
        )
    lines += ["", *MESH_NOTE.strip().splitlines()]
    worst = max(abs(by[("janus", n)] / by[("janus", 1)] - 1) for n in RECEIVERS)
    median = statistics.median(joins)
    lines += [
        "",
        f"Target: under Janus the teacher's upload stays within ±20% of the 1-receiver figure "
        f"— largest deviation {worst * 100:.0f}% ({'met' if worst <= 0.2 else 'NOT met'}).",
        "",
        f"Join to first frame under Janus ({len(joins)} joins; from the student page's "
        "`client.connect()` to the first `requestVideoFrameCallback` of the teacher's video, "
        f"through token refresh, Janus session, subscribe and ICE): median {median:.0f} ms, "
        f"min {min(joins):.0f} ms, max {max(joins):.0f} ms "
        f"(target ≤ 800 ms: {'met' if median <= 800 else 'NOT met'}).",
        "",
    ]
    return "\n".join(lines)


def write_section(path: Path, section: str) -> None:
    """Replace only our section of docs/benchmarks.md; other sections belong to others."""
    text = path.read_text() if path.exists() else "# Benchmarks\n\n"
    start = text.find(SECTION)
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(SECTION))
        text = text[:start] + section + ("" if end == -1 else text[end + 1 :])
    path.write_text(text)


async def main(output: Path, work: Path) -> None:
    template = work / "template.db"
    janus = JanusServer.start(work / "janus")
    server = LiveclassServer(work, template, janus)
    await server.start()
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            figures = []
            for provider in ("mesh", "janus"):
                for n in RECEIVERS:
                    figure = await teacher_upload(browser, server, provider, n)
                    print(f"{provider} {n} receivers: {figure.bytes_per_s / 1000:.1f} kB/s")
                    figures.append(figure)
            joins = await join_to_first_frame(browser, server)
            print("join to first frame (ms):", ", ".join(f"{j:.0f}" for j in joins))
            await browser.close()
    finally:
        await server.stop()
        janus.stop()
    section = render(figures, joins)
    print(section)
    write_section(output, section)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        # alembic runs its own event loop, so migrate before ours starts
        upgrade(f"sqlite+aiosqlite:///{Path(tmp) / 'template.db'}")
        asyncio.run(main(arguments.output, Path(tmp)))
