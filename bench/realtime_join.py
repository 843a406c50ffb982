"""Benchmark (issue 3): join to first remote frame in Chromium, peer to peer, on loopback.

A teacher's classroom page is open and sending its fake camera. Then, run after run, a new
student opens their classroom link (the "join" click) in a fresh browser context; we time
the first remote video frame the page renders (``requestVideoFrameCallback``) from:

* the navigation start: page load, token refresh, ICE config, camera, socket, negotiation, ICE;
* ``client.connect()`` (the ``liveclass:connect`` performance mark): socket onwards.

Runs inside a private network namespace, with Debian Chromium and a liveclass server
process, as the e2e tests do::

    scripts/netns-run .venv/bin/python bench/realtime_join.py [--runs 12]

The figures go into the "## Realtime (issue 3)" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from pathlib import Path

from playwright.async_api import Browser, async_playwright
from tests.support.chromium import CHROMIUM, CHROMIUM_FLAGS

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import Platform  # noqa: E402
from tests.e2e.conftest import (  # noqa: E402
    ServerProcess,
    Session,
    in_private_network_namespace,
    open_page,
)
from tests.support.servers import free_port  # noqa: E402

from liveclass.db.migrate import upgrade  # noqa: E402

_WATCH_FIRST_FRAME = """
window.firstRemoteFrameAt = null;
new MutationObserver(() => {
  for (const video of document.querySelectorAll('.tile:not(.mine) video')) {
    if (video.dataset.watched) continue;
    video.dataset.watched = '1';
    video.requestVideoFrameCallback(() => {
      if (window.firstRemoteFrameAt === null) window.firstRemoteFrameAt = performance.now();
    });
  }
}).observe(document, { subtree: true, childList: true });
"""
_TIMES = """() => {
  const connect = performance.getEntriesByName('liveclass:connect')[0];
  return [window.firstRemoteFrameAt, window.firstRemoteFrameAt - connect.startTime];
}"""


async def _one_join(browser: Browser, url: str) -> tuple[float, float]:
    context = await browser.new_context(permissions=["camera", "microphone"], bypass_csp=True)
    await context.add_init_script(_WATCH_FIRST_FRAME)
    page = await context.new_page()
    await page.goto(url)
    await page.wait_for_function("() => window.firstRemoteFrameAt !== null", timeout=20000)
    from_navigation, from_connect = await page.evaluate(_TIMES)
    await page.evaluate("() => window.liveclass.client.leave()")
    await context.close()
    return float(from_navigation), float(from_connect)


async def run(runs: int, workdir: Path) -> list[tuple[float, float]]:
    db = workdir / "join.db"
    server = ServerProcess(f"sqlite+aiosqlite:///{db}", free_port(), workdir / "server.log")
    server.start()
    try:
        session = Session(server, Platform()).create()
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            teacher = await open_page(browser, session.classroom_url("teacher-1", "Teacher"))
            await teacher.wait_for_function("() => window.liveclass.client.status === 'connected'")
            # one unmeasured join warms Chromium's codecs and the server's code paths
            await _one_join(browser, session.classroom_url("warm-up", "Warm Up"))
            times = [
                await _one_join(browser, session.classroom_url(f"student-{n}", f"Student {n}"))
                for n in range(runs)
            ]
            await browser.close()
        return times
    finally:
        server.stop()


def report(times: list[tuple[float, float]]) -> str:
    nav = sorted(t[0] for t in times)
    conn = sorted(t[1] for t in times)
    median_nav, median_conn = statistics.median(nav), statistics.median(conn)
    return (
        f"Join to first remote frame, mesh ({len(times)} joins, each a new student in a fresh "
        f"browser context, teacher already sending): from opening the classroom link — median "
        f"{median_nav:.0f} ms (min {nav[0]:.0f}, max {nav[-1]:.0f}); from `client.connect()` — "
        f"median {median_conn:.0f} ms (min {conn[0]:.0f}, max {conn[-1]:.0f}). "
        f"Target ≤ 500 ms from the join click: {'met' if median_nav <= 500 else 'missed'}."
    )


def main() -> None:
    if not in_private_network_namespace():
        raise SystemExit("run inside a private network namespace: scripts/netns-run ...")
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="liveclass-join-") as tmp:
        upgrade(f"sqlite+aiosqlite:///{Path(tmp) / 'join.db'}")
        times = asyncio.run(run(args.runs, Path(tmp)))
    for n, (nav, conn) in enumerate(times):
        print(f"run {n}: {nav:.0f} ms from navigation, {conn:.0f} ms from connect")
    print(report(times))


if __name__ == "__main__":
    main()
