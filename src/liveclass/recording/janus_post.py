"""Post-processing a Janus VideoRoom recording.

Janus writes one ``.mjr`` file per media line of each publisher
(``videoroom-<room>-user-<feed>-<start µs>-audio-0.mjr`` / ``...-video-1.mjr``). After the
recording stops we convert each with ``janus-pp-rec`` (a container change, no transcoding),
mux every feed's audio and video into ``feeds/<feed>.webm`` with ``ffmpeg -c copy``, and
publish the main speaker's file as the class recording.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from liveclass.recording.errors import NoMedia, StorageError, ToolFailed
from liveclass.recording.storage import RecordingStorage
from liveclass.recording.tools import Toolbox

WEBM = "video/webm"
_MJR = re.compile(r"^(?P<feed>.+?)(?:-(?P<start>\d{10,}))?-(?P<kind>audio|video)-\d+\.mjr$")


@dataclass
class FeedFiles:
    """The largest ``.mjr`` of each kind for one publisher (a re-publish starts new files)."""

    feed: str
    audio: Path | None = None
    video: Path | None = None

    def keep(self, kind: str, path: Path) -> None:
        current = getattr(self, kind)
        if current is None or path.stat().st_size > current.stat().st_size:
            setattr(self, kind, path)

    @property
    def weight(self) -> int:
        """How much this feed said: the main speaker is the feed with the most media."""
        return sum(p.stat().st_size for p in (self.audio, self.video) if p is not None)


@dataclass(frozen=True, slots=True)
class StoredFile:
    key: str
    size: int


@dataclass(frozen=True, slots=True)
class PostResult:
    main: StoredFile
    feeds: list[StoredFile] = field(default_factory=list)
    main_feed: str = ""


def find_feeds(rec_dir: Path) -> list[FeedFiles]:
    """Group the ``.mjr`` files in ``rec_dir`` by publisher."""
    feeds: dict[str, FeedFiles] = {}
    for path in sorted(rec_dir.glob("*.mjr")):
        match = _MJR.match(path.name)
        if match is None or path.stat().st_size == 0:
            continue
        name = match["feed"]
        feeds.setdefault(name, FeedFiles(name)).keep(match["kind"], path)
    return list(feeds.values())


def choose_main(feeds: list[FeedFiles], preferred: str | None = None) -> FeedFiles:
    """The preferred feed if it recorded video, else the feed with the most media."""
    with_video = [f for f in feeds if f.video is not None]
    if not with_video:
        raise NoMedia("no video was recorded (no *-video-*.mjr file)")
    for feed in with_video:
        if preferred and feed.feed.endswith(f"-{preferred}"):
            return feed
    return max(with_video, key=lambda f: f.weight)


async def process_janus_recording(
    rec_dir: Path,
    work_dir: Path,
    storage: RecordingStorage,
    *,
    key_prefix: str,
    tools: Toolbox | None = None,
    main_feed: str | None = None,
) -> PostResult:
    """Convert, mux and store a stopped Janus recording; raise ``RecordingError`` on failure."""
    tools = tools or Toolbox()
    # fail before any work when a tool is missing, with the tool's name as the reason
    tools.locate("janus-pp-rec")
    tools.locate("ffmpeg")
    feeds = find_feeds(rec_dir)
    if not feeds:
        raise NoMedia(f"Janus recorded no feed files in {rec_dir}")
    main = choose_main(feeds, main_feed)
    await asyncio.to_thread(prepare_work_dir, work_dir)
    stored: list[StoredFile] = []
    main_file: StoredFile | None = None
    for feed in feeds:
        muxed = await mux_feed(feed, work_dir, tools)
        short = feed_label(feed.feed)
        size = await storage.put_file(f"{key_prefix}/feeds/{short}.webm", muxed, content_type=WEBM)
        stored.append(StoredFile(f"{key_prefix}/feeds/{short}.webm", size))
        if feed is main:
            size = await storage.put_file(f"{key_prefix}/class.webm", muxed, content_type=WEBM)
            main_file = StoredFile(f"{key_prefix}/class.webm", size)
    assert main_file is not None
    return PostResult(main=main_file, feeds=stored, main_feed=feed_label(main.feed))


def prepare_work_dir(work_dir: Path) -> None:
    try:
        work_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot create {work_dir}: {exc.strerror or exc}") from exc


def feed_label(feed: str) -> str:
    """``videoroom-<room>-user-<id>`` -> ``user-<id>``: short, and unique within a room."""
    _, sep, user = feed.partition("-user-")
    return f"user-{user}" if sep else feed


async def mux_feed(feed: FeedFiles, work_dir: Path, tools: Toolbox) -> Path:
    """One WebM with the feed's VP8 video and Opus audio, copied, never re-encoded."""
    label = feed_label(feed.feed)
    inputs: list[str] = []
    maps: list[str] = []
    offsets = await _start_offsets(feed, tools)
    for kind, suffix in (("video", "webm"), ("audio", "opus")):
        source: Path | None = getattr(feed, kind)
        if source is None:
            continue
        converted = work_dir / f"{label}-{kind}.{suffix}"
        await tools.run("janus-pp-rec", str(source), str(converted))
        if not converted.exists() or converted.stat().st_size == 0:
            raise ToolFailed(f"janus-pp-rec wrote nothing for {source.name}")
        # the later-starting track is shifted so lips and voice stay together
        if offsets.get(kind, 0.0) > 0.0:
            inputs += ["-itsoffset", f"{offsets[kind]:.3f}"]
        inputs += ["-i", str(converted)]
        maps += ["-map", f"{len(maps) // 2}:0"]
    output = work_dir / f"{label}.webm"
    await tools.run(
        "ffmpeg",
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        *inputs,
        *maps,
        "-c",
        "copy",
        "-f",
        "webm",
        str(output),
    )
    return output


async def _start_offsets(feed: FeedFiles, tools: Toolbox) -> dict[str, float]:
    """Seconds each track started after the earliest one, from the .mjr headers."""
    starts: dict[str, int] = {}
    for kind in ("video", "audio"):
        source: Path | None = getattr(feed, kind)
        if source is not None:
            header = await tools.run("janus-pp-rec", "-e", str(source))
            starts[kind] = _header_start(header)
    if len(starts) < 2:
        return {}
    first = min(starts.values())
    return {kind: (start - first) / 1_000_000 for kind, start in starts.items()}


def _header_start(output: str) -> int:
    for line in reversed(output.strip().splitlines()):
        if line.startswith("{"):
            try:
                start = json.loads(line).get("s")
            except json.JSONDecodeError:
                continue
            if isinstance(start, int):
                return start
    raise ToolFailed("janus-pp-rec -e printed no recording header")
