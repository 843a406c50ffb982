"""The mesh recorder receiving real WebRTC from aiortc publishers and writing WebM without
re-encoding (run inside the media network namespace)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from liveclass.recording import passthrough
from liveclass.recording.errors import NoMedia, StorageError
from liveclass.recording.mesh_recorder import MeshRecorder
from liveclass.recording.storage import LocalStorage
from tests.recording.probe import probe
from tests.recording.sources import MovingPictureTrack, ToneTrack

pytestmark = pytest.mark.recording

TALK_SECONDS = 5.0


async def _publisher(
    recorder: MeshRecorder, peer_id: str, *, video: bool = True
) -> RTCPeerConnection:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTrack(ToneTrack())
    if video:
        pc.addTrack(MovingPictureTrack())
    await pc.setLocalDescription(await pc.createOffer())
    answer = await recorder.accept_offer(peer_id, pc.localDescription.sdp)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    return pc


@pytest.fixture(autouse=True)
def _pass_through() -> Iterator[None]:
    # the swap is process-wide; other tests in this run still need aiortc's decoders
    passthrough.install()
    yield
    passthrough.uninstall()


async def test_two_publishers_recorded_without_reencoding(tmp_path: Path) -> None:
    recorder = MeshRecorder(tmp_path / "work")
    started = time.monotonic()
    teacher = await _publisher(recorder, "teacher")
    student = await _publisher(recorder, "student")
    await asyncio.sleep(TALK_SECONDS)
    span = time.monotonic() - started
    storage = LocalStorage(tmp_path / "store")
    result = await recorder.stop(storage, key_prefix="r1", main_peer="teacher")
    await teacher.close()
    await student.close()

    assert result.main_feed == "teacher"
    assert sorted(f.key for f in result.feeds) == ["r1/feeds/student.webm", "r1/feeds/teacher.webm"]
    found = probe(storage.path_of(result.main.key))
    assert found.codecs == {"video": "vp8", "audio": "opus"}
    assert (found.width, found.height) == (640, 480)
    assert found.video_frames_decoded >= 30
    assert found.audio_frames_decoded >= 30
    assert abs(found.duration - span) <= 1.5


async def test_audio_only_publisher_gives_no_media(tmp_path: Path) -> None:
    recorder = MeshRecorder(tmp_path / "work")
    pc = await _publisher(recorder, "mic", video=False)
    await asyncio.sleep(1.0)
    with pytest.raises(NoMedia, match="key frame"):
        await recorder.stop(LocalStorage(tmp_path / "store"), key_prefix="r2")
    await pc.close()


async def test_unwritable_work_dir_is_a_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_bytes(b"")
    recorder = MeshRecorder(blocker / "work")
    pc = await _publisher(recorder, "teacher")
    await asyncio.sleep(1.5)
    with pytest.raises(StorageError, match="cannot write"):
        await recorder.stop(LocalStorage(tmp_path / "store"), key_prefix="r3")
    await pc.close()


async def test_rejects_peer_ids_that_are_not_names(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot name a file"):
        await MeshRecorder(tmp_path).accept_offer("../x", "v=0")
