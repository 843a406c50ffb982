"""Reading a classroom page's WebRTC statistics, and polling them with bounded waits."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from playwright.async_api import Page

# Per remote peer: decoded video frames, inbound video streams with frames, received audio
# energy, and bytes this page sent to that peer.
_STATS_JS = """
async () => {
  const room = window.liveclass;
  if (!room || !room.media) return {};
  const out = {};
  for (const [pid, link] of room.media.links) {
    const r = {frames: 0, videoStreams: 0, audioEnergy: 0, bytesSent: 0,
               state: link.pc.connectionState};
    (await link.pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        r.frames += s.framesDecoded || 0;
        if ((s.framesDecoded || 0) > 0) r.videoStreams += 1;
      }
      if (s.type === 'inbound-rtp' && s.kind === 'audio') r.audioEnergy += s.totalAudioEnergy || 0;
      if (s.type === 'outbound-rtp') r.bytesSent += s.bytesSent || 0;
    });
    out[pid] = r;
  }
  return out;
}
"""


async def media_stats(page: Page) -> dict[str, dict[str, Any]]:
    stats: dict[str, dict[str, Any]] = await page.evaluate(_STATS_JS)
    return stats


async def wait_until(
    page: Page,
    check: Callable[[dict[str, dict[str, Any]]], bool],
    *,
    within: float = 20.0,
    what: str = "media",
) -> dict[str, dict[str, Any]]:
    """Poll the page's stats until ``check`` holds; fail with the last stats after ``within``."""
    deadline = asyncio.get_running_loop().time() + within
    stats: dict[str, dict[str, Any]] = {}
    while asyncio.get_running_loop().time() < deadline:
        stats = await media_stats(page)
        if check(stats):
            return stats
        await asyncio.sleep(0.25)
    raise AssertionError(f"{what} not reached within {within}s; last stats: {stats}")


def receives_from(
    peers: list[str], *, video_streams: int = 1, audio: bool = True
) -> Callable[[dict[str, dict[str, Any]]], bool]:
    def check(stats: dict[str, dict[str, Any]]) -> bool:
        return all(
            pid in stats
            and stats[pid]["frames"] > 0
            and stats[pid]["videoStreams"] >= video_streams
            and (not audio or stats[pid]["audioEnergy"] > 0)
            for pid in peers
        )

    return check


async def participant_id(page: Page) -> str:
    ready = "() => window.liveclass && window.liveclass.client.me"
    await page.wait_for_function(ready, timeout=15000)
    pid: str = await page.evaluate("window.liveclass.client.me.participant_id")
    return pid
