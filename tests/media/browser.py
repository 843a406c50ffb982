"""Chromium pages that join a Janus class through liveclass, for tests and benchmarks.

The page is a bare harness on the liveclass origin that runs the real ``liveclass-client.js``
and ``janus-media.js`` from ``/static`` against the real server and Janus.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, Page

from tests.api.helpers import future, session_body
from tests.conftest import JWT_SECRET, SECRET_KEY, Platform
from tests.media.janus_server import JanusServer
from tests.support.servers import free_port, liveclass_server_command

# Publishes the camera (janus-media.js only sends it while the grant allows publishing)
# and shows every remote stream in a muted, autoplaying <video>.
HARNESS_JS = """
import { LiveClassClient } from '/static/liveclass-client.js';
import { openMedia } from '/static/media-transport.js';
const params = new URLSearchParams(window.harnessParams);
const client = new LiveClassClient({ sessionId: params.get('session'),
  accessToken: params.get('token'), baseUrl: location.origin });
// as the classroom does: the join document's provider picks the transport module
const joined = await client.refreshToken();
if (joined.media.provider !== params.get('provider')) {
  throw new Error(`a ${joined.media.provider} class, not ${params.get('provider')}`);
}
const media = await openMedia(client, joined, { iceServers: [] });
client.useMedia(media);
const harness = { client, media, errors: [], firstFrameAt: {}, startedAt: 0 };
window.harness = harness;
media.onMediaError = (e) => harness.errors.push(e);
media.onRemoteStream = (pid, stream, kind) => {
  const video = document.createElement('video');
  video.autoplay = true; video.muted = true; video.playsInline = true;
  video.srcObject = stream;
  video.requestVideoFrameCallback(() => {
    harness.firstFrameAt[pid + ':' + kind] ??= performance.timeOrigin + performance.now();
  });
  document.body.append(video);
};
if (params.get('camera') !== 'off') {
  const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
  media.publish(stream, 'camera');
}
harness.startedAt = performance.timeOrigin + performance.now();
client.connect();
"""

# Decoded frames per remote feed (participant:kind) and bytes this page sent.
STATS_JS = """
async () => {
  // the test harness, or the real classroom page (classroom.js exposes window.liveclass)
  const h = window.harness ?? (window.liveclass?.media && { ...window.liveclass, errors: [],
    firstFrameAt: {}, startedAt: 0 });
  if (!h) return { feeds: {}, bytesSent: 0, publishing: [], errors: [], status: 'loading',
                   firstFrameAt: {}, startedAt: 0, builds: 0 };  // module still loading
  const out = { feeds: {}, bytesSent: 0, publishing: [], errors: h.errors,
                status: h.client.status, firstFrameAt: h.firstFrameAt, startedAt: h.startedAt,
                builds: h.media.builds ?? 0 };
  // janus-media.js: one connection per feed; mesh-media.js: one per remote peer
  const links = h.media.watching
    ? [...h.media.watching.values()].map((f) => [f.owner + ':' + f.kind, f.pc])
    : [...h.media.links].map(([pid, link]) => [pid + ':camera', link.pc]);
  const sending = h.media.publishing
    ? [...h.media.publishing.values()].map((f) => f.pc)
    : [...h.media.links.values()].map((link) => link.pc);
  if (h.media.publishing) out.publishing = [...h.media.publishing.keys()];
  for (const [key, pc] of links) {
    let frames = 0;
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded || 0;
    });
    if (frames || h.media.watching) out.feeds[key] = frames;
  }
  for (const pc of sending) {
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'outbound-rtp') out.bytesSent += s.bytesSent || 0;
    });
  }
  return out;
}
"""


# What each harness page logged, for failure messages.
CONSOLE: dict[Page, list[str]] = {}


class LiveclassServer:
    """liveclass under uvicorn in a child process, configured for the given Janus.

    By default browsers reach Janus over its WebSocket transport (``API_URL|WS_URL``); with
    ``http_only`` JANUS_URLS names only the HTTP API URL, which browsers then use as well.
    """

    def __init__(
        self,
        workdir: Path,
        sqlite_template: Path,
        janus: JanusServer,
        *,
        http_only: bool = False,
        port: int | None = None,
    ) -> None:
        database = workdir / "liveclass.db"
        shutil.copy(sqlite_template, database)
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "liveclass.log"
        self.env = {
            **os.environ,
            "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
            "JWT_SECRET": JWT_SECRET,
            "SECRET_KEY": SECRET_KEY,
            "PUBLIC_BASE_URL": self.base_url,
            "DEFAULT_PROVIDER": "janus",
            "JANUS_URLS": janus.url if http_only else f"{janus.url}|{janus.ws_url}",
            "JANUS_ADMIN_SECRET": janus.admin_secret,
            "JANUS_API_SECRET": janus.api_secret,
        }
        self.env.pop("REDIS_URL", None)
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                *liveclass_server_command(self.port),
                env=self.env,
                stdout=out,
                stderr=out,
            )
        async with httpx.AsyncClient(timeout=1) as http:
            for _ in range(300):  # up to ~30 s
                if self.proc.returncode is not None:
                    raise RuntimeError("liveclass exited:\n" + self.log.read_text()[-3000:])
                try:
                    if (await http.get(self.base_url + "/healthz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError("liveclass did not start within 30 s")

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.terminate()
        try:
            await asyncio.wait_for(self.proc.wait(), 15)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


class JanusClass:
    """A class on liveclass, driven through the REST API as a platform would."""

    def __init__(self, server: LiveclassServer, platform: Platform) -> None:
        self.server = server
        self.platform = platform
        self.id = ""
        self.teacher = "teacher-1"
        self.http = httpx.AsyncClient(base_url=server.base_url, timeout=15)

    def auth(self, sub: str) -> dict[str, str]:
        roles = ("teacher",) if sub == self.teacher else ("student",)
        return self.platform.auth(sub, *roles, name=sub.title())

    async def create_and_start(self, **overrides: Any) -> None:
        body = (
            session_body(
                title="Janus class",
                scheduled_at=future(minutes=1),
                max_participants=30,
                is_public=True,
                default_role="viewer",
            )
            | overrides
        )
        r = await self.http.post("/api/v1/sessions", json=body, headers=self.auth(self.teacher))
        assert r.status_code == 201, r.text
        self.id = r.json()["id"]
        r = await self.http.post(
            f"/api/v1/sessions/{self.id}/start", headers=self.auth(self.teacher)
        )
        assert r.status_code == 200, r.text

    async def join(self, sub: str) -> dict[str, Any]:
        r = await self.http.post(
            f"/api/v1/sessions/{self.id}/join", json={}, headers=self.auth(sub)
        )
        assert r.status_code == 200, r.text
        joined: dict[str, Any] = r.json()
        return joined

    async def change_role(self, participant_id: str, role: str) -> None:
        r = await self.http.patch(
            f"/api/v1/sessions/{self.id}/participants/{participant_id}",
            json={"role": role},
            headers=self.auth(self.teacher),
        )
        assert r.status_code == 200, r.text

    async def kick(self, participant_id: str) -> None:
        r = await self.http.post(
            f"/api/v1/sessions/{self.id}/participants/{participant_id}/kick",
            headers=self.auth(self.teacher),
        )
        assert r.status_code == 200, r.text

    async def end(self) -> None:
        r = await self.http.post(f"/api/v1/sessions/{self.id}/end", headers=self.auth(self.teacher))
        assert r.status_code == 200, r.text

    async def aclose(self) -> None:
        await self.http.aclose()


async def open_harness(
    browser: Browser,
    base_url: str,
    session_id: str,
    token: str,
    *,
    camera: bool = True,
    provider: str = "janus",
) -> Page:
    """A page on the liveclass origin running the client library and the class's transport."""
    context = await browser.new_context(permissions=["camera", "microphone"])
    page = await context.new_page()
    console: list[str] = []
    CONSOLE[page] = console
    page.on("console", lambda message: console.append(message.text))
    page.on("pageerror", lambda error: console.append(f"page error: {error}"))
    # Any document the server really sent gives the page its origin (and Chromium its
    # loopback address space); the harness script then runs in it.
    await page.goto(f"{base_url}/static/janus-media.js")
    params = {
        "session": session_id,
        "token": token,
        "camera": "on" if camera else "off",
        "provider": provider,
    }
    await page.evaluate("(params) => { window.harnessParams = params; }", params)
    await page.add_script_tag(content=HARNESS_JS, type="module")
    return page


async def open_classroom(browser: Browser, classroom_url: str) -> Page:
    """The real classroom page (classroom.js picks janus-media.js from the join document)."""
    context = await browser.new_context(permissions=["camera", "microphone"])
    page = await context.new_page()
    console: list[str] = []
    CONSOLE[page] = console
    page.on("console", lambda message: console.append(message.text))
    page.on("pageerror", lambda error: console.append(f"page error: {error}"))
    page.on("dialog", lambda dialog: dialog.accept())
    await page.goto(classroom_url)
    return page


async def page_stats(page: Page) -> dict[str, Any]:
    stats: dict[str, Any] = await page.evaluate(STATS_JS)
    return stats


async def wait_for(
    page: Page, check: Callable[[dict[str, Any]], bool], *, within: float = 20.0, what: str
) -> dict[str, Any]:
    """Poll the page's stats until ``check`` holds; fail with the last stats otherwise."""
    stats: dict[str, Any] = {}
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        stats = await page_stats(page)
        if check(stats):
            return stats
        await asyncio.sleep(0.2)
    logged = "\n".join(CONSOLE.get(page, [])[-20:])
    raise AssertionError(
        f"{what} not reached within {within}s; last stats: {stats}\nconsole:\n{logged}"
    )


def decodes(feed: str, frames: int = 10) -> Callable[[dict[str, Any]], bool]:
    return lambda stats: stats["feeds"].get(feed, 0) >= frames


def lacks(feed: str) -> Callable[[dict[str, Any]], bool]:
    return lambda stats: feed not in stats["feeds"]
