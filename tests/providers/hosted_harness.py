"""What the hosted-provider contract suite needs of each provider: its local server, the
settings that point liveclass at it, and webhooks signed as the provider signs them.

``HARNESSES`` is the registry: a Zoom or Jitsi harness is one more entry."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from tests.support.fake_daily import FakeDaily, serve_fake_daily


class Harness(Protocol):
    provider: str

    def settings(self) -> dict[str, Any]: ...

    def calls(self) -> list[tuple[str, str]]:
        """(method, path) of every call the server received."""
        ...

    def fail_next(self, count: int, status: int, retry_after: str | None = None) -> None: ...

    def participant(
        self, kind: str, meeting_id: str, user_id: str, connection: str, at: float
    ) -> tuple[bytes, dict[str, str]]:
        """A signed participant joined/left delivery (``kind``: joined, left)."""
        ...

    def meeting(self, kind: str, meeting_id: str, at: float) -> tuple[bytes, dict[str, str]]: ...

    def tampered(self, meeting_id: str) -> tuple[bytes, dict[str, str]]: ...

    def stale(self, meeting_id: str) -> tuple[bytes, dict[str, str]]: ...


@dataclass
class DailyHarness:
    fake: FakeDaily
    url: str
    provider: str = "daily"

    def settings(self) -> dict[str, Any]:
        return {
            "daily_api_key": self.fake.api_key,
            "daily_api_url": self.url + "/v1",
            "daily_webhook_secret": self.fake.webhook_secret,
        }

    def calls(self) -> list[tuple[str, str]]:
        return [(c.method, c.path) for c in self.fake.calls]

    def fail_next(self, count: int, status: int, retry_after: str | None = None) -> None:
        self.fake.fail_next, self.fake.fail_status = count, status
        self.fake.retry_after = retry_after

    def participant(
        self, kind: str, meeting_id: str, user_id: str, connection: str, at: float
    ) -> tuple[bytes, dict[str, str]]:
        payload: dict[str, Any] = {
            "room": meeting_id,
            "session_id": connection,
            "user_id": user_id,
            "user_name": user_id,
            "owner": False,
            "joined_at": at,
        }
        if kind == "left":
            # Daily's left carries the join time and the seconds in the room
            payload["joined_at"] = at - 60
            payload["duration"] = 60  # so it left at ``at``
        signed = self.fake.sign_webhook(self.fake.event(f"participant.{kind}", payload))
        return signed.body, signed.headers

    def meeting(self, kind: str, meeting_id: str, at: float) -> tuple[bytes, dict[str, str]]:
        payload: dict[str, Any] = {"room": meeting_id, "meeting_id": "m-1", "start_ts": at}
        if kind == "ended":
            payload["end_ts"] = at
        signed = self.fake.sign_webhook(self.fake.event(f"meeting.{kind}", payload))
        return signed.body, signed.headers

    def tampered(self, meeting_id: str) -> tuple[bytes, dict[str, str]]:
        body, headers = self.meeting("started", meeting_id, 0)
        return body.replace(b"m-1", b"m-2"), headers

    def stale(self, meeting_id: str) -> tuple[bytes, dict[str, str]]:
        import time

        event = self.fake.event(
            "meeting.started", {"room": meeting_id, "meeting_id": "m", "start_ts": time.time()}
        )
        signed = self.fake.sign_webhook(event, timestamp=int(time.time()) - 3600)
        return signed.body, signed.headers


@contextmanager
def daily_harness() -> Iterator[Harness]:
    with serve_fake_daily() as (fake, server):
        yield DailyHarness(fake, server.url)


HARNESSES: dict[str, Callable[[], AbstractContextManager[Harness]]] = {
    "daily": daily_harness,
}


async def deliver(
    client: httpx.AsyncClient, provider: str, signed: tuple[bytes, dict[str, str]]
) -> httpx.Response:
    body, headers = signed
    return await client.post(f"/api/v1/providers/{provider}/webhook", content=body, headers=headers)
