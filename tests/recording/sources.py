"""Synthetic media for recording tests: a moving 640x480 picture and a 440 Hz tone, so that
recorded files carry real, changing content (not black frames and silence)."""

from __future__ import annotations

import array
import fractions
import math

import av
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

WIDTH, HEIGHT = 640, 480


class MovingPictureTrack(VideoStreamTrack):
    def __init__(self) -> None:
        super().__init__()
        self._count = 0
        self._row = bytes(i * 255 // WIDTH for i in range(WIDTH))
        self._chroma = bytes([128]) * (WIDTH // 2 * HEIGHT // 2)

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        shift = (self._count * 8) % WIDTH
        row = self._row[shift:] + self._row[:shift]
        frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        frame.planes[0].update(row * HEIGHT)
        frame.planes[1].update(self._chroma)
        frame.planes[2].update(self._chroma)
        frame.pts, frame.time_base = pts, time_base
        self._count += 1
        return frame


class ToneTrack(AudioStreamTrack):
    def __init__(self, hz: float = 440.0) -> None:
        super().__init__()
        self._hz = hz
        self._sample = 0

    async def recv(self) -> av.AudioFrame:
        silence = await super().recv()
        assert isinstance(silence, av.AudioFrame)
        rate, samples = silence.sample_rate, silence.samples
        wave = array.array(
            "h",
            (
                int(8000 * math.sin(2 * math.pi * self._hz * (self._sample + i) / rate))
                for i in range(samples)
            ),
        )
        self._sample += samples
        tone = av.AudioFrame(format="s16", layout="mono", samples=samples)
        tone.planes[0].update(wave.tobytes())
        tone.sample_rate = rate
        tone.pts = silence.pts
        tone.time_base = fractions.Fraction(1, rate)
        return tone
