"""Running the external media tools (``janus-pp-rec``, ``ffmpeg``, ``ffprobe``) with a
bounded time, translating every way they can go wrong into a ``RecordingError``."""

from __future__ import annotations

import asyncio
import os
import shutil
from dataclasses import dataclass

from liveclass.recording.errors import ToolFailed, ToolMissing

_INSTALL_HINT = {
    "janus-pp-rec": "Debian package janus-tools",
    "ffmpeg": "Debian package ffmpeg",
    "ffprobe": "Debian package ffmpeg",
}


@dataclass(frozen=True, slots=True)
class Toolbox:
    """Finds tools on ``search_path`` (default: ``$PATH`` at call time) and runs them."""

    search_path: str | None = None
    timeout_seconds: float = 600.0

    def locate(self, name: str) -> str:
        found = shutil.which(name, path=self.search_path or os.environ.get("PATH"))
        if found is None:
            hint = _INSTALL_HINT.get(name, "install it")
            raise ToolMissing(f"{name} is not installed or not on PATH ({hint})")
        return found

    async def run(self, name: str, *args: str) -> str:
        """Run the tool; return its stdout. Non-zero exit raises ``ToolFailed``."""
        binary = self.locate(name)
        try:
            proc = await asyncio.create_subprocess_exec(
                binary,
                *args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:  # found but not executable, or vanished since lookup
            raise ToolMissing(f"{name} could not be started: {exc}") from exc
        try:
            out, err = await asyncio.wait_for(proc.communicate(), self.timeout_seconds)
        except TimeoutError as exc:
            proc.kill()
            await proc.wait()
            raise ToolFailed(f"{name} did not finish within {self.timeout_seconds:.0f}s") from exc
        if proc.returncode != 0:
            raise ToolFailed(f"{name} exited with {proc.returncode}: {_tail(err)}")
        return out.decode(errors="replace")


def _tail(stderr: bytes, lines: int = 3) -> str:
    text = stderr.decode(errors="replace").strip().splitlines()
    return " | ".join(text[-lines:]) or "(no output)"
