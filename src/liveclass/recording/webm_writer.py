"""Writing one publisher's received VP8 and Opus frames into a WebM file, unchanged.

The file starts at the publisher's first video key frame: a decoder cannot use anything
before it, and opening the file on an audio frame first is what left aiortc's own recorder
with no video (see docs on the MediaRecorder defect), so earlier audio is dropped.
Both tracks are placed on one clock, the wall time each track's first frame arrived, so that
voice and picture stay together even when one track starts later.
"""

from __future__ import annotations

import fractions
from pathlib import Path

import av
from av.container import OutputContainer
from av.stream import Stream

from liveclass.recording.errors import StorageError
from liveclass.recording.passthrough import EncodedFrame, is_vp8_keyframe, vp8_size

_CODEC_KIND = {"vp8": "video", "opus": "audio"}


class _TrackClock:
    """Maps a track's RTP timestamps to presentation times on the file's shared clock."""

    def __init__(self, first_rtp: int, offset_seconds: float, clock_rate: int) -> None:
        self.first_rtp = first_rtp
        self.offset = round(offset_seconds * clock_rate)
        self.last_pts = -1

    def pts(self, rtp_timestamp: int) -> int:
        pts = self.offset + (rtp_timestamp - self.first_rtp)
        # the muxer rejects non-increasing timestamps (a reordered or repeated frame)
        pts = max(pts, self.last_pts + 1)
        self.last_pts = pts
        return pts


class WebmFeedWriter:
    """One WebM file with at most one VP8 and one Opus track."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._container: OutputContainer | None = None
        self._streams: dict[str, Stream] = {}
        self._clocks: dict[str, _TrackClock] = {}
        self._started_at = 0.0
        self.packets = {"video": 0, "audio": 0}

    @property
    def started(self) -> bool:
        return self._container is not None

    def write(self, frame: EncodedFrame, arrived: float) -> None:
        """Mux one frame that arrived at ``arrived`` (monotonic seconds)."""
        kind = _CODEC_KIND.get(frame.codec)
        if kind is None:
            return  # a codec WebM cannot hold (e.g. H.264): the browser is asked for VP8
        if self._container is None:
            if kind != "video" or not is_vp8_keyframe(frame.data):
                return
            self._open(*vp8_size(frame.data), arrived)
        clock = self._clocks.get(kind)
        if clock is None:
            clock = _TrackClock(frame.timestamp, arrived - self._started_at, frame.clock_rate)
            self._clocks[kind] = clock
        packet = av.Packet(frame.data)
        packet.stream = self._streams[kind]
        packet.time_base = fractions.Fraction(1, frame.clock_rate)
        packet.pts = packet.dts = clock.pts(frame.timestamp)
        if kind == "video":
            packet.is_keyframe = is_vp8_keyframe(frame.data)
        self._mux(packet)
        self.packets[kind] += 1

    def _open(self, width: int, height: int, arrived: float) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            container = av.open(str(self.path), mode="w", format="webm")
        except (OSError, av.FFmpegError) as exc:
            raise StorageError(f"cannot write {self.path}: {exc}") from exc
        video = container.add_stream("libvpx", rate=30)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        audio = container.add_stream("libopus", rate=48000)
        self._streams = {"video": video, "audio": audio}
        self._container = container
        self._started_at = arrived

    def _mux(self, packet: av.Packet[Stream]) -> None:
        assert self._container is not None
        try:
            self._container.mux(packet)
        except (OSError, av.FFmpegError) as exc:
            raise StorageError(f"cannot write {self.path}: {exc}") from exc

    def close(self) -> bool:
        """Finish the file; False when nothing was written (no video key frame arrived)."""
        if self._container is None:
            return False
        container, self._container = self._container, None
        try:
            container.close()
        except (OSError, av.FFmpegError) as exc:
            raise StorageError(f"cannot finish {self.path}: {exc}") from exc
        return True
