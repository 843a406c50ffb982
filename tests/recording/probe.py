"""What a recorded file really holds, read with PyAV (decoding, not just headers)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av


@dataclass(frozen=True)
class Probe:
    codecs: dict[str, str]  # "video" / "audio" -> codec name
    duration: float
    width: int
    height: int
    video_frames_decoded: int
    audio_frames_decoded: int


def probe(path: Path, *, decode_limit: int = 60) -> Probe:
    with av.open(str(path)) as container:
        codecs: dict[str, str] = {
            s.type: s.codec_context.name for s in container.streams if s.type in ("audio", "video")
        }
        duration = (container.duration or 0) / 1_000_000
        video = container.streams.video[0] if container.streams.video else None
        width = video.codec_context.width if video else 0
        height = video.codec_context.height if video else 0
    counts = {"video": 0, "audio": 0}
    with av.open(str(path)) as container:
        for kind in ("video", "audio"):
            streams = [s for s in container.streams if s.type == kind]
            if not streams:
                continue
            container.seek(0)
            for frame in container.decode(streams[0]):
                if isinstance(frame, av.VideoFrame):
                    width, height = frame.width, frame.height
                counts[kind] += 1
                if counts[kind] >= decode_limit:
                    break
    return Probe(codecs, duration, width, height, counts["video"], counts["audio"])
