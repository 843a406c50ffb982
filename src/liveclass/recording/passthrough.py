"""Receiving encoded media from aiortc without decoding it.

aiortc reassembles each RTP frame in its jitter buffer, then hands it to a decoder on a
worker thread and queues the decoded frames for ``track.recv()``. A recorder that writes
VP8/Opus straight into WebM needs the frame *before* that decoder: decoding and re-encoding
cost 45-75% of a core per 640x480 stream, copying costs a few percent.

``install()`` swaps aiortc's decoder factory for one that returns the encoded frame as is,
so ``track.recv()`` yields ``EncodedFrame`` objects. It changes every receiver in the
process, which is why the mesh recorder runs in a process of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiortc.rtcrtpreceiver
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters


@dataclass(frozen=True, slots=True)
class EncodedFrame:
    """One complete encoded frame; ``timestamp`` is in the codec's RTP clock, from 0."""

    codec: str  # "vp8", "opus", ...
    clock_rate: int
    data: bytes
    timestamp: int


class PassThroughDecoder:
    """Fulfils aiortc's ``Decoder`` contract (``decode(JitterFrame) -> list``) by copying."""

    def __init__(self, codec: RTCRtpCodecParameters) -> None:
        self.codec = codec.mimeType.split("/")[1].lower()
        self.clock_rate = codec.clockRate

    def decode(self, encoded_frame: JitterFrame) -> list[Any]:
        data, timestamp = encoded_frame.data, encoded_frame.timestamp
        return [EncodedFrame(self.codec, self.clock_rate, data, timestamp)]


def _pass_through(codec: RTCRtpCodecParameters) -> PassThroughDecoder:
    return PassThroughDecoder(codec)


_AIORTC_DECODERS = aiortc.rtcrtpreceiver.get_decoder  # type: ignore[attr-defined]


def install() -> None:
    """Make every aiortc receiver in this process deliver ``EncodedFrame`` objects."""
    setattr(aiortc.rtcrtpreceiver, "get_decoder", _pass_through)  # noqa: B010


def uninstall() -> None:
    """Give aiortc its decoders back (for a process that also needs decoded frames)."""
    setattr(aiortc.rtcrtpreceiver, "get_decoder", _AIORTC_DECODERS)  # noqa: B010


def is_vp8_keyframe(data: bytes) -> bool:
    # RFC 6386 section 9.1: bit 0 of the frame tag is 0 for key frames, followed by the
    # start code 9d 01 2a
    return len(data) >= 10 and data[0] & 1 == 0 and data[3:6] == b"\x9d\x01\x2a"


def vp8_size(data: bytes) -> tuple[int, int]:
    """Width and height from a VP8 key frame header."""
    width = int.from_bytes(data[6:8], "little") & 0x3FFF
    height = int.from_bytes(data[8:10], "little") & 0x3FFF
    return width, height
