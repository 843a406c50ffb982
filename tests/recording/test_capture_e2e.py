"""Recording real classes end to end: Chromium publishers on the real classroom page, the
real server, the real mesh recorder process or a real Janus, and the downloaded file decoded.

Runs inside ``scripts/netns-run`` (loopback only, ``jnet0`` for Janus).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.e2e.conftest import ServerProcess
from tests.e2e.media import participant_id
from tests.media.browser import LiveclassServer, open_classroom
from tests.media.janus_server import JanusServer
from tests.recording.classes import (
    TEACHER,
    RecordedClass,
    recorder_env,
    require_namespace,
    wait_flag,
)
from tests.recording.conftest import require_tool
from tests.recording.probe import probe
from tests.support.chromium import CHROMIUM, CHROMIUM_FLAGS
from tests.support.servers import free_port

pytestmark = [pytest.mark.recording, pytest.mark.e2e]

TALK_SECONDS = 10.0


@pytest.fixture
def mesh_server(tmp_path: Path, sqlite_template: Path) -> Iterator[ServerProcess]:
    require_namespace()
    database = tmp_path / "liveclass.db"
    shutil.copy(sqlite_template, database)
    server = ServerProcess(f"sqlite+aiosqlite:///{database}", free_port(), tmp_path / "server.log")
    server.env.update(recorder_env(tmp_path))
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        await chromium.close()


async def janus_server_with(
    tmp_path: Path, sqlite_template: Path, janus: JanusServer, **env: str
) -> LiveclassServer:
    server = LiveclassServer(tmp_path, sqlite_template, janus)
    server.env.update({**recorder_env(tmp_path), **env})
    await server.start()
    return server


async def sends_to(page: Page, peer: str, within: float = 20.0) -> None:
    """The page's link to ``peer`` is connected and has sent media on it."""
    probe_js = """async (pid) => {
      const media = window.liveclass && window.liveclass.media;
      const link = media && media.links.get(pid);
      if (!link || link.pc.connectionState !== 'connected') return 0;
      let sent = 0;
      (await link.pc.getStats()).forEach((s) => {
        if (s.type === 'outbound-rtp') sent += s.packetsSent || 0;
      });
      return sent;
    }"""
    for _ in range(int(within / 0.2)):
        if await page.evaluate(probe_js, peer) > 50:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"the page never sent media to {peer}")


async def decodes_from(page: Page, peer: str) -> None:
    probe_js = """async (pid) => {
      const media = window.liveclass && window.liveclass.media;
      const link = media && media.links.get(pid);
      if (!link) return 0;
      let frames = 0;
      (await link.pc.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded || 0;
      });
      return frames;
    }"""
    for _ in range(100):
        if await page.evaluate(probe_js, peer) > 10:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"the page never decoded video from {peer}")


def check_file(path: Path, span: float) -> None:
    found = probe(path)
    assert found.codecs == {"video": "vp8", "audio": "opus"}
    assert found.video_frames_decoded >= 30
    assert found.audio_frames_decoded >= 30
    assert abs(found.duration - span) <= 1.5, (found.duration, span)


# -- mesh --------------------------------------------------------------------------------------


async def test_mesh_class_is_recorded_by_the_hidden_recorder(
    browser: Browser, mesh_server: ServerProcess, tmp_path: Path
) -> None:
    lesson = RecordedClass(mesh_server.base_url)
    await lesson.create_and_start()
    teacher = await open_classroom(browser, await lesson.classroom_url(TEACHER))
    student = await open_classroom(browser, await lesson.classroom_url("ana"))
    ana = await participant_id(student)
    await decodes_from(teacher, ana)

    started = await lesson.start_recording()
    rec_id = started["id"]
    await lesson.wait_state(rec_id, "recording", within=30)
    began = time.monotonic()
    # both publishers send to the recorder, whose peer id is the recording's id
    await sends_to(teacher, rec_id)
    await sends_to(student, rec_id)
    await wait_flag(student, True)
    people = await student.inner_text("#participants")
    assert "Recorder" not in people
    await asyncio.sleep(TALK_SECONDS)
    stopped = await lesson.stop_recording()
    span = time.monotonic() - began
    assert stopped["state"] == "processing"
    await wait_flag(student, False)

    ready = await lesson.wait_state(rec_id, "ready", "failed")
    assert ready["state"] == "ready", ready["failure_reason"]
    assert abs(ready["duration_seconds"] - span) <= 1.5
    size = await lesson.download(rec_id, tmp_path / "class.webm")
    assert size == ready["size_bytes"]
    check_file(tmp_path / "class.webm", span)
    feeds = sorted((tmp_path / "recordings" / rec_id / "feeds").iterdir())
    assert len(feeds) == 2  # teacher and student, each in a file of their own
    assert (await lesson.session())["status"] == "live"  # the class went on
    await lesson.aclose()


def _recorder_pids(session_id: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "liveclass.recording.mesh_worker" in cmdline and session_id in cmdline:
            pids.append(int(entry.name))
    return pids


async def test_killed_recorder_fails_the_recording_and_the_class_goes_on(
    browser: Browser, mesh_server: ServerProcess
) -> None:
    lesson = RecordedClass(mesh_server.base_url)
    await lesson.create_and_start(is_recorded=True)  # recording starts with the class
    teacher = await open_classroom(browser, await lesson.classroom_url(TEACHER))
    [rec] = await lesson.recordings()
    await lesson.wait_state(rec["id"], "recording", within=30)
    await sends_to(teacher, rec["id"])
    [pid] = _recorder_pids(lesson.id)

    os.kill(pid, signal.SIGKILL)

    failed = await lesson.wait_state(rec["id"], "failed")
    assert "killed by signal SIGKILL" in failed["failure_reason"]
    await wait_flag(teacher, False)
    assert (await lesson.session())["status"] == "live"
    assert await teacher.evaluate("window.liveclass.client.status") == "connected"
    # a new recording can start after the failed one
    again = await lesson.start_recording()
    assert again["id"] != rec["id"]
    await lesson.wait_state(again["id"], "recording", within=30)
    await lesson.end()  # ending the class stops and stores it
    done = await lesson.wait_state(again["id"], "ready", "failed")
    assert done["state"] in ("ready", "failed")
    await lesson.aclose()


# -- janus -------------------------------------------------------------------------------------


@pytest.fixture
async def janus_liveclass(
    tmp_path: Path, sqlite_template: Path, janus_server: JanusServer
) -> AsyncIterator[LiveclassServer]:
    require_tool("janus-pp-rec")
    require_tool("ffmpeg")
    server = await janus_server_with(tmp_path, sqlite_template, janus_server)
    yield server
    await server.stop()


async def _janus_publishing(browser: Browser, lesson: RecordedClass) -> tuple[Page, Page]:
    teacher = await open_classroom(browser, await lesson.classroom_url(TEACHER))
    await _janus_sends(teacher)
    student = await open_classroom(browser, await lesson.classroom_url("ana"))
    await _janus_decodes(student)
    return teacher, student


async def _janus_sends(page: Page) -> None:
    """The page's camera feed is up on Janus (from here on Janus records it)."""
    probe_js = """async () => {
      const media = window.liveclass && window.liveclass.media;
      if (!media || !media.publishing) return 0;
      let sent = 0;
      for (const feed of media.publishing.values()) {
        if (feed.pc.connectionState !== 'connected') continue;
        (await feed.pc.getStats()).forEach((s) => {
          if (s.type === 'outbound-rtp') sent += s.packetsSent || 0;
        });
      }
      return sent;
    }"""
    for _ in range(150):
        if await page.evaluate(probe_js) > 0:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the teacher's feed never went up on Janus")


async def _janus_decodes(page: Page) -> None:
    probe_js = """async () => {
      const media = window.liveclass && window.liveclass.media;
      if (!media || !media.watching) return 0;
      let frames = 0;
      for (const feed of media.watching.values()) {
        (await feed.pc.getStats()).forEach((s) => {
          if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded || 0;
        });
      }
      return frames;
    }"""
    for _ in range(150):
        if await page.evaluate(probe_js) > 10:
            return
        await asyncio.sleep(0.2)
    raise AssertionError("the student never decoded the teacher through Janus")


@pytest.mark.janus
async def test_janus_class_is_recorded_and_processed(
    browser: Browser, janus_liveclass: LiveclassServer, tmp_path: Path
) -> None:
    lesson = RecordedClass(janus_liveclass.base_url)
    await lesson.create_and_start(is_recorded=True, provider="janus", default_role="viewer")
    [rec] = await lesson.recordings()
    await lesson.wait_state(rec["id"], "recording")
    teacher = await open_classroom(browser, await lesson.classroom_url(TEACHER))
    await _janus_sends(teacher)
    began = time.monotonic()  # Janus records the teacher's feed from when it is published
    student = await open_classroom(browser, await lesson.classroom_url("ana"))
    await _janus_decodes(student)
    await wait_flag(student, True)
    await asyncio.sleep(TALK_SECONDS)
    await lesson.end()  # the end of the class stops the recording
    span = time.monotonic() - began

    ready = await lesson.wait_state(rec["id"], "ready", "failed")
    assert ready["state"] == "ready", ready["failure_reason"]
    await lesson.download(rec["id"], tmp_path / "class.webm")
    check_file(tmp_path / "class.webm", span)
    feeds = list((tmp_path / "recordings" / rec["id"] / "feeds").iterdir())
    assert feeds  # the per-feed files are kept too
    await lesson.aclose()


async def _janus_failure(browser: Browser, server: LiveclassServer) -> dict[str, object]:
    lesson = RecordedClass(server.base_url)
    await lesson.create_and_start(provider="janus", default_role="viewer")
    teacher, _ = await _janus_publishing(browser, lesson)
    rec = await lesson.start_recording()
    await lesson.wait_state(rec["id"], "recording")
    await asyncio.sleep(2)
    await lesson.stop_recording()
    failed = await lesson.wait_state(rec["id"], "ready", "failed")
    assert (await lesson.session())["status"] == "live"  # the class goes on
    assert await teacher.evaluate("window.liveclass.client.status") == "connected"
    await lesson.aclose()
    return failed


@pytest.mark.janus
async def test_missing_ffmpeg_fails_the_recording(
    browser: Browser, tmp_path: Path, sqlite_template: Path, janus_server: JanusServer
) -> None:
    # a PATH with janus-pp-rec but no ffmpeg
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "janus-pp-rec").symlink_to(require_tool("janus-pp-rec"))
    server = await janus_server_with(tmp_path, sqlite_template, janus_server, PATH=str(tools))
    try:
        failed = await _janus_failure(browser, server)
    finally:
        await server.stop()
    assert failed["state"] == "failed"
    assert "ffmpeg is not installed" in str(failed["failure_reason"])


@pytest.mark.janus
async def test_unwritable_storage_fails_the_recording(
    browser: Browser, tmp_path: Path, sqlite_template: Path, janus_server: JanusServer
) -> None:
    require_tool("janus-pp-rec")
    require_tool("ffmpeg")
    blocker = tmp_path / "not-a-directory"
    blocker.write_bytes(b"")  # storage below a file: not even root can write there
    server = await janus_server_with(
        tmp_path, sqlite_template, janus_server, RECORDINGS_DIR=str(blocker / "recordings")
    )
    try:
        failed = await _janus_failure(browser, server)
    finally:
        await server.stop()
    assert failed["state"] == "failed"
    assert "cannot write" in str(failed["failure_reason"])
