"""A recorded class as a platform drives it: REST calls, polling a recording's state, and
reading the downloaded file."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page

from tests.api.helpers import future, session_body
from tests.conftest import Platform
from tests.e2e.conftest import in_private_network_namespace

TEACHER = "teacher-1"


def require_namespace() -> None:
    """Media tests run inside ``scripts/netns-run``; under CI anything else is a failure."""
    if in_private_network_namespace() or os.environ.get("LIVECLASS_IN_NETNS") == "1":
        return
    message = "recording tests with browsers run inside scripts/netns-run"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def recorder_env(tmp_path: Path) -> dict[str, str]:
    """Settings that make a test server record into ``tmp_path`` on loopback only."""
    return {
        "RECORDINGS_DIR": str(tmp_path / "recordings"),
        "RECORDING_WORK_DIR": str(tmp_path / "recording-work"),
        "RECORDER_ICE_ADDRESSES": "127.0.0.1",
    }


class RecordedClass:
    def __init__(self, base_url: str, platform: Platform | None = None) -> None:
        self.platform = platform or Platform()
        self.http = httpx.AsyncClient(base_url=base_url, timeout=15)
        self.id = ""

    def auth(self, sub: str = TEACHER) -> dict[str, str]:
        roles = ("teacher",) if sub == TEACHER else ("student",)
        return self.platform.auth(sub, *roles, name=sub.title())

    async def create_and_start(self, **overrides: Any) -> None:
        body = (
            session_body(
                title="Recorded class",
                scheduled_at=future(minutes=1),
                max_participants=10,
                is_public=True,
                default_role="speaker",
            )
            | overrides
        )
        r = await self.http.post("/api/v1/sessions", json=body, headers=self.auth())
        assert r.status_code == 201, r.text
        self.id = r.json()["id"]
        r = await self.http.post(f"/api/v1/sessions/{self.id}/start", headers=self.auth())
        assert r.status_code == 200, r.text

    async def classroom_url(self, sub: str) -> str:
        path = f"/api/v1/sessions/{self.id}/join"
        r = await self.http.post(path, json={}, headers=self.auth(sub))
        assert r.status_code == 200, r.text
        url: str = r.json()["classroom_url"]
        return url

    async def start_recording(self) -> dict[str, Any]:
        r = await self.http.post(f"/api/v1/sessions/{self.id}/recording/start", headers=self.auth())
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    async def stop_recording(self) -> dict[str, Any]:
        r = await self.http.post(f"/api/v1/sessions/{self.id}/recording/stop", headers=self.auth())
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    async def end(self) -> None:
        r = await self.http.post(f"/api/v1/sessions/{self.id}/end", headers=self.auth())
        assert r.status_code == 200, r.text

    async def session(self) -> dict[str, Any]:
        r = await self.http.get(f"/api/v1/sessions/{self.id}", headers=self.auth())
        body: dict[str, Any] = r.json()
        return body

    async def recordings(self) -> list[dict[str, Any]]:
        r = await self.http.get(
            "/api/v1/recordings", params={"session_id": self.id}, headers=self.auth()
        )
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items

    async def recording(self, recording_id: str) -> dict[str, Any]:
        r = await self.http.get(f"/api/v1/recordings/{recording_id}", headers=self.auth())
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    async def wait_state(
        self, recording_id: str, *states: str, within: float = 60.0
    ) -> dict[str, Any]:
        """Poll until the recording is in one of ``states``; fail with the last one seen."""
        seen: dict[str, Any] = {}
        for _ in range(int(within / 0.1)):
            seen = await self.recording(recording_id)
            if seen["state"] in states:
                return seen
            await asyncio.sleep(0.1)
        raise AssertionError(f"recording never reached {states}; last: {seen}")

    async def download(self, recording_id: str, target: Path) -> int:
        """The whole file, then a byte range of it, which must match the same bytes."""
        url = f"/api/v1/recordings/{recording_id}/download"
        whole = await self.http.get(url, headers=self.auth(TEACHER))
        assert whole.status_code == 200, whole.text
        assert whole.headers["accept-ranges"] == "bytes"
        assert whole.headers["content-type"] == "video/webm"
        await asyncio.to_thread(target.write_bytes, whole.content)
        size = len(whole.content)
        part = await self.http.get(url, headers={**self.auth(TEACHER), "Range": "bytes=100-4195"})
        assert part.status_code == 206
        assert part.headers["content-range"] == f"bytes 100-4195/{size}"
        assert part.content == whole.content[100:4196]
        return size

    async def aclose(self) -> None:
        await self.http.aclose()


async def recording_flag_shown(page: Page) -> bool:
    shown: bool = await page.evaluate("!document.getElementById('recording').hidden")
    return shown


async def wait_flag(page: Page, shown: bool) -> None:
    for _ in range(100):
        if await recording_flag_shown(page) == shown:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the recording indicator never became {'shown' if shown else 'hidden'}")
