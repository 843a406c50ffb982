"""Browser tests: a liveclass server process on a loopback port and real Debian Chromium.

They must run inside a private network namespace (``unshare -n`` with ``lo`` up), where
127.0.0.1 is the only ICE candidate and no packet leaves the machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests.api.helpers import future, session_body
from tests.conftest import JWT_SECRET, SECRET_KEY, Platform
from tests.support.chromium import CHROMIUM, CHROMIUM_FLAGS
from tests.support.servers import free_port, liveclass_server_command, wait_healthy


def in_private_network_namespace() -> bool:
    # /proc/net/dev lists the interfaces of this process's namespace (sysfs may show the host's).
    # scripts/netns-run adds `jnet0`, a loopback-addressed helper interface for Janus.
    lines = Path("/proc/net/dev").read_text().splitlines()[2:]
    return {line.split(":")[0].strip() for line in lines} <= {"lo", "jnet0"}


def require_private_network() -> None:
    """Browser tests fail under CI outside the namespace (and skip elsewhere)."""
    if in_private_network_namespace():
        return
    message = "browser tests run inside `unshare -n` with lo up (see scripts/test)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _network_namespace() -> None:
    require_private_network()


class ServerProcess:
    """``uvicorn`` serving liveclass in a child process, so a test can restart it."""

    def __init__(self, database_url: str, port: int, log: Path) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.log = log
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "JWT_SECRET": JWT_SECRET,
            "SECRET_KEY": SECRET_KEY,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "PUBLIC_BASE_URL": self.base_url,
        }
        self.env.pop("REDIS_URL", None)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = liveclass_server_command(self.port)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(command, env=self.env, stdout=out, stderr=out)
        wait_healthy(self.proc, self.base_url, self.log)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def server(tmp_path: Path, sqlite_template: Path) -> Iterator[ServerProcess]:
    path = tmp_path / "liveclass.db"
    shutil.copy(sqlite_template, path)
    proc = ServerProcess(f"sqlite+aiosqlite:///{path}", free_port(), tmp_path / "server.log")
    proc.start()
    yield proc
    proc.stop()


@dataclass
class Session:
    """A class on the server, created and started by its teacher through the REST API."""

    server: ServerProcess
    platform: Platform
    id: str = ""
    teacher: str = "teacher-1"

    def _call(self, method: str, path: str, token: str, body: Any = None) -> httpx.Response:
        return httpx.request(
            method,
            self.server.base_url + path,
            json=body,
            timeout=10,
            headers={"Authorization": f"Bearer {token}"},
        )

    def teacher_token(self) -> str:
        return self.platform.token(self.teacher, "teacher", name="Ada Teacher")

    def create(self, **overrides: Any) -> Session:
        body = (
            session_body(
                title="Physics <script>alert(1)</script>",
                scheduled_at=future(minutes=1),
                max_participants=10,
                is_public=True,
                default_role="speaker",
            )
            | overrides
        )
        r = self._call("POST", "/api/v1/sessions", self.teacher_token(), body)
        assert r.status_code == 201, r.text
        self.id = r.json()["id"]
        r = self._call("POST", f"/api/v1/sessions/{self.id}/start", self.teacher_token())
        assert r.status_code == 200, r.text
        return self

    def join(self, sub: str, name: str) -> httpx.Response:
        token = (
            self.teacher_token()
            if sub == self.teacher
            else self.platform.token(sub, "student", name=name)
        )
        return self._call("POST", f"/api/v1/sessions/{self.id}/join", token, {})

    def classroom_url(self, sub: str, name: str) -> str:
        r = self.join(sub, name)
        assert r.status_code == 200, r.text
        url: str = r.json()["classroom_url"]
        return url


@pytest.fixture
def session(server: ServerProcess) -> Session:
    return Session(server, Platform())


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        await chromium.close()


async def open_page(browser: Browser, url: str) -> Page:
    context: BrowserContext = await browser.new_context(
        permissions=["camera", "microphone"],
        viewport={"width": 1280, "height": 760},
        bypass_csp=True,  # lets Playwright evaluate its probes; the page itself is unchanged
    )
    page = await context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    await page.goto(url)
    return page
