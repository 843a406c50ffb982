"""The quick start as a newcomer meets it: ``liveclass demo`` from a plain install, its two
printed links opened in Chromium, video and sound both ways.

Runs inside the private network namespace (as the whole suite does), so the two pages find
each other on loopback only.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from tests.e2e.conftest import open_page, require_private_network
from tests.e2e.media import participant_id, receives_from, wait_until
from tests.install.conftest import clean_env
from tests.support.chromium import CHROMIUM, CHROMIUM_FLAGS
from tests.support.servers import free_port

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _network_namespace() -> None:
    require_private_network()


_LINK = re.compile(r"^(host|student)\s+(http://\S+)$")


@pytest.fixture
def demo_links(plain_venv: Path, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Start ``liveclass demo`` and read the host and student links it prints."""
    proc = subprocess.Popen(
        [str(plain_venv / "bin" / "liveclass"), "demo"],
        env=clean_env(plain_venv, HOST="127.0.0.1", PORT=str(free_port())),
        cwd=tmp_path,  # no .env: the embedded defaults, secrets generated on first start
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield _read_links(proc)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        assert proc.stdout is not None
        proc.stdout.close()


def _read_links(proc: subprocess.Popen[str]) -> dict[str, str]:
    assert proc.stdout is not None
    links: dict[str, str] = {}
    printed: list[str] = []
    deadline = time.monotonic() + 90
    while len(links) < 2 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:  # the process ended without printing both links
            break
        printed.append(line)
        found = _LINK.match(line.strip())
        if found:
            links[found.group(1)] = found.group(2)
    assert set(links) == {"host", "student"}, "liveclass demo printed:\n" + "".join(printed)
    return links


async def test_the_demo_links_carry_video_and_sound_both_ways(
    demo_links: dict[str, str],
) -> None:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            host = await open_page(browser, demo_links["host"])
            student = await open_page(browser, demo_links["student"])
            host_id, student_id = await participant_id(host), await participant_id(student)
            await wait_until(host, receives_from([student_id]), what="host hears the student")
            await wait_until(student, receives_from([host_id]), what="student hears the host")
        finally:
            await browser.close()
