"""Supervising one mesh recorder process (``mesh_worker``) from the server.

The worker reports on stdout (see ``mesh_worker``); this side turns its reports into
recording states: ``joined`` -> recording, ``stored`` -> the files go to storage -> ready,
and any other end (killed, crashed, refused) -> failed with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from liveclass.recording.errors import RecorderCrashed, RecordingError
from liveclass.recording.janus_post import WEBM, PostResult, StoredFile
from liveclass.recording.mesh_worker import STAGED_PREFIX, TOKEN_ENV
from liveclass.recording.storage import RecordingStorage

log = logging.getLogger(__name__)

# Enough for the worker to close its files and copy them out after ``stop``.
STOP_GRACE_SECONDS = 60.0
_STDERR_TAIL = 4000


@dataclass(frozen=True, slots=True)
class WorkerLaunch:
    """Everything needed to start the recorder process of one recording."""

    ws_url: str
    token: str
    work_dir: Path
    ice_addresses: list[str]

    def command(self) -> list[str]:
        cmd = [
            sys.executable,
            "-m",
            "liveclass.recording.mesh_worker",
            "--url",
            self.ws_url,
            "--work-dir",
            str(self.work_dir / "feeds"),
            "--out-dir",
            str(self.work_dir / "out"),
        ]
        for address in self.ice_addresses:
            cmd += ["--ice-address", address]
        return cmd


@dataclass(frozen=True, slots=True)
class CaptureOutcome:
    """What the worker left: the staged files and their duration, or why there are none."""

    result: PostResult | None
    duration_ms: int | None
    error: RecordingError | None


class MeshCapture:
    """One running recorder process; ``on_joined`` and ``on_done`` report back to the caller."""

    def __init__(
        self,
        proc: asyncio.subprocess.Process,
        launch: WorkerLaunch,
        *,
        on_joined: Callable[[], Awaitable[None]],
        on_done: Callable[[CaptureOutcome], Awaitable[None]],
    ) -> None:
        self.proc = proc
        self.launch = launch
        self.stopping = False
        self._on_joined = on_joined
        self._on_done = on_done
        self._stderr = bytearray()
        self.task = asyncio.create_task(self._watch(), name=f"mesh-recorder-{proc.pid}")

    @classmethod
    async def spawn(
        cls,
        launch: WorkerLaunch,
        *,
        on_joined: Callable[[], Awaitable[None]],
        on_done: Callable[[CaptureOutcome], Awaitable[None]],
    ) -> MeshCapture:
        launch.work_dir.mkdir(parents=True, exist_ok=True)
        proc = await asyncio.create_subprocess_exec(
            *launch.command(),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, TOKEN_ENV: launch.token},
        )
        return cls(proc, launch, on_joined=on_joined, on_done=on_done)

    async def stop(self) -> None:
        """Ask the worker to finish its files; the outcome arrives through ``on_done``."""
        self.stopping = True
        if self.proc.returncode is not None or self.proc.stdin is None:
            return
        with contextlib.suppress(OSError, ConnectionError):
            self.proc.stdin.write(b"stop\n")
            await self.proc.stdin.drain()

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()

    def abort(self) -> None:
        self.stopping = True
        self.kill()

    async def _watch(self) -> None:
        stderr = asyncio.create_task(self._drain_stderr())
        reports = await self._read_reports()
        try:
            await asyncio.wait_for(self.proc.wait(), STOP_GRACE_SECONDS)
        except TimeoutError:
            self.kill()
            await self.proc.wait()
        await stderr
        try:
            await self._on_done(self._outcome(reports))
        except Exception:  # the supervisor must never die silently with the recording open
            log.exception("recording outcome of recorder %s was not saved", self.proc.pid)

    async def _read_reports(self) -> list[dict[str, Any]]:
        assert self.proc.stdout is not None
        reports: list[dict[str, Any]] = []
        async for line in self.proc.stdout:
            try:
                report = json.loads(line)
            except ValueError:
                continue  # a library printing to stdout is not a report
            reports.append(report)
            if report.get("event") == "joined":
                await self._on_joined()
        return reports

    async def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        async for line in self.proc.stderr:
            self._stderr += line
            del self._stderr[:-_STDERR_TAIL]

    def _outcome(self, reports: list[dict[str, Any]]) -> CaptureOutcome:
        stored = next((r for r in reports if r.get("event") == "stored"), None)
        if stored is not None and self.proc.returncode == 0:
            result = PostResult(
                main=StoredFile(str(stored["main"]), 0),
                feeds=[StoredFile(str(key), 0) for key in stored["feeds"]],
                main_feed=str(stored.get("main_feed", "")),
            )
            return CaptureOutcome(result, stored.get("duration_ms"), None)
        failed = next((r for r in reports if r.get("event") == "failed"), None)
        if failed is not None:
            return CaptureOutcome(None, None, RecordingError(str(failed["reason"])))
        return CaptureOutcome(None, None, RecorderCrashed(self._exit_reason()))

    def _exit_reason(self) -> str:
        code = self.proc.returncode
        if code is not None and code < 0:
            how = f"was killed by signal {signal.Signals(-code).name}"
        else:
            how = f"exited with code {code}"
        tail = self._stderr.decode(errors="replace").strip().splitlines()[-1:]
        return f"the mesh recorder process {how}" + (f": {tail[0]}" if tail else "")


async def store_staged(
    staged: PostResult, out_dir: Path, storage: RecordingStorage, *, key_prefix: str
) -> PostResult:
    """Move the worker's files (keys under ``staged/`` in ``out_dir``) into the storage."""

    async def put(key: str) -> StoredFile:
        final = f"{key_prefix}/{key.removeprefix(STAGED_PREFIX + '/')}"
        size = await storage.put_file(final, out_dir / key, content_type=WEBM)
        return StoredFile(final, size)

    main = await put(staged.main.key)
    feeds = [await put(f.key) for f in staged.feeds]
    return PostResult(main=main, feeds=feeds, main_feed=staged.main_feed)
