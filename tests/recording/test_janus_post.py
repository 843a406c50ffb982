"""Janus post-processing on real ``.mjr`` files recorded by a real Janus from two aiortc
publishers (run inside the media network namespace)."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from liveclass.recording.errors import NoMedia, StorageError, ToolFailed, ToolMissing
from liveclass.recording.janus_post import find_feeds, process_janus_recording
from liveclass.recording.storage import LocalStorage
from liveclass.recording.tools import Toolbox
from tests.recording.conftest import require_tool
from tests.recording.probe import probe

pytestmark = [pytest.mark.recording, pytest.mark.janus]

TALK_SECONDS = 5.0


@dataclass(frozen=True)
class JanusRecording:
    rec_dir: Path
    span: float  # seconds between the first publisher joining and recording stopping


def _start_janus(workdir: Path) -> object:
    from tests.media.janus_server import JanusMissing, JanusServer

    try:
        return JanusServer.start(workdir)
    except JanusMissing as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(str(exc))
        pytest.skip(str(exc))


async def _record(server: object, rec_dir: Path) -> float:
    from tests.recording.janus_publisher import (
        JanusApi,
        create_recorded_room,
        publish,
        stop_recording,
    )

    api = JanusApi(server.url, server.api_secret, server.admin_secret)  # type: ignore[attr-defined]
    try:
        room = await create_recorded_room(api, rec_dir)
        started = time.monotonic()
        first = await publish(api, room, "teacher")
        second = await publish(api, room, "student")
        await asyncio.sleep(TALK_SECONDS)
        await stop_recording(api, room)
        span = time.monotonic() - started
        await first.close()
        await second.close()
        return span
    finally:
        await api.close()


@pytest.fixture(scope="module")
def janus_recording(tmp_path_factory: pytest.TempPathFactory) -> JanusRecording:
    require_tool("janus")
    workdir = tmp_path_factory.mktemp("janus")
    rec_dir = workdir / "rec"
    rec_dir.mkdir()
    server = _start_janus(workdir)
    try:
        span = asyncio.run(_record(server, rec_dir))
    finally:
        server.stop()  # type: ignore[attr-defined]
    return JanusRecording(rec_dir, span)


def test_finds_one_feed_per_publisher(janus_recording: JanusRecording) -> None:
    feeds = find_feeds(janus_recording.rec_dir)
    assert len(feeds) == 2
    assert all(f.audio is not None and f.video is not None for f in feeds)


async def test_main_speaker_file_plays(janus_recording: JanusRecording, tmp_path: Path) -> None:
    require_tool("janus-pp-rec")
    require_tool("ffmpeg")
    storage = LocalStorage(tmp_path / "store")
    result = await process_janus_recording(
        janus_recording.rec_dir, tmp_path / "work", storage, key_prefix="rec1"
    )
    assert result.main.key == "rec1/class.webm"
    main = storage.path_of(result.main.key)
    assert result.main.size == main.stat().st_size > 0
    found = probe(main)
    assert found.codecs == {"video": "vp8", "audio": "opus"}
    assert (found.width, found.height) == (640, 480)
    assert found.video_frames_decoded >= 30
    assert found.audio_frames_decoded >= 30
    assert abs(found.duration - TALK_SECONDS) <= 1.5
    assert found.duration <= janus_recording.span + 1.5


async def test_keeps_every_feed(janus_recording: JanusRecording, tmp_path: Path) -> None:
    require_tool("janus-pp-rec")
    require_tool("ffmpeg")
    storage = LocalStorage(tmp_path / "store")
    result = await process_janus_recording(
        janus_recording.rec_dir, tmp_path / "work", storage, key_prefix="rec2"
    )
    assert len(result.feeds) == 2
    for stored in result.feeds:
        assert stored.key.startswith("rec2/feeds/user-")
        assert probe(storage.path_of(stored.key)).codecs == {"video": "vp8", "audio": "opus"}


async def test_missing_ffmpeg_is_named(janus_recording: JanusRecording, tmp_path: Path) -> None:
    only_pp_rec = tmp_path / "bin"
    only_pp_rec.mkdir()
    (only_pp_rec / "janus-pp-rec").symlink_to(require_tool("janus-pp-rec"))
    with pytest.raises(ToolMissing, match="ffmpeg is not installed"):
        await process_janus_recording(
            janus_recording.rec_dir,
            tmp_path / "work",
            LocalStorage(tmp_path / "store"),
            key_prefix="rec3",
            tools=Toolbox(search_path=str(only_pp_rec)),
        )


async def test_corrupt_mjr_fails_the_tool(janus_recording: JanusRecording, tmp_path: Path) -> None:
    require_tool("janus-pp-rec")
    broken = tmp_path / "broken"
    broken.mkdir()
    for source in janus_recording.rec_dir.glob("*.mjr"):
        (broken / source.name).write_bytes(b"not a janus recording" * 10)
    with pytest.raises(ToolFailed, match="janus-pp-rec"):
        await process_janus_recording(
            broken, tmp_path / "work", LocalStorage(tmp_path / "store"), key_prefix="rec4"
        )


async def test_unwritable_storage(janus_recording: JanusRecording, tmp_path: Path) -> None:
    require_tool("ffmpeg")
    blocker = tmp_path / "blocker"
    blocker.write_bytes(b"")  # a file where the storage wants a directory: fails even as root
    with pytest.raises(StorageError, match="cannot write"):
        await process_janus_recording(
            janus_recording.rec_dir, tmp_path / "work", LocalStorage(blocker), key_prefix="rec5"
        )


async def test_no_feed_files(tmp_path: Path) -> None:
    require_tool("ffmpeg")
    require_tool("janus-pp-rec")
    with pytest.raises(NoMedia):
        await process_janus_recording(
            tmp_path, tmp_path / "work", LocalStorage(tmp_path / "store"), key_prefix="rec6"
        )


def test_tool_lookup_uses_the_given_path(tmp_path: Path) -> None:
    assert shutil.which("ffmpeg") is not None or os.environ.get("CI") != "true"
    with pytest.raises(ToolMissing, match="janus-pp-rec"):
        Toolbox(search_path=str(tmp_path)).locate("janus-pp-rec")
