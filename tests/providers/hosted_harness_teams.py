"""The fake Microsoft Graph behind the app's ``TEAMS_*`` settings, for the contract suite.

Teams has one shared join link and no per-person token, and its call notifications name
no person liveclass knows (attendance comes from the meeting's attendance reports): the
harness says so (``lacks``) and the contract suite skips those steps for it. Forged
notifications carry another ``clientState``; stale ones name a subscription that expired."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

from tests.support.fake_teams import FakeTeams, serve_fake_teams


@dataclass
class TeamsAppHarness:
    fake: FakeTeams
    provider: str = "teams"
    has_meeting_api: bool = True
    lacks: ClassVar[Mapping[str, str]] = {
        "own_link": "Teams has no per-person token: everyone joins by the meeting's joinWebUrl",
        "pushed_attendance": (
            "Teams' call notifications name no person liveclass knows: attendance is read"
            " from the meeting's attendance reports when the class ends"
        ),
    }

    def settings(self) -> dict[str, Any]:
        return {
            "teams_client_id": self.fake.client_id,
            "teams_client_secret": self.fake.client_secret,
            "teams_tenant_id": self.fake.tenant_id,
            "teams_organizer_id": self.fake.organizer,
            "teams_client_state": self.fake.client_state,
            "teams_graph_url": f"{self.fake.url}/v1.0",
            "teams_login_url": self.fake.url,
        }

    def meeting_id(self, session: Mapping[str, Any]) -> str:
        (found,) = [
            m for m in self.fake.meetings.values() if m["joinWebUrl"] == session["meeting_url"]
        ]
        return str(found["id"])

    def calls(self) -> list[tuple[str, str]]:
        return [(c.method, c.path) for c in self.fake.calls]

    def fail_next(self, count: int, status: int, retry_after: str | None = None) -> None:
        self.fake.fail_next, self.fake.fail_status = count, status
        self.fake.retry_after = retry_after

    def participant(
        self, kind: str, meeting_id: str, user_id: str, connection: str, at: float
    ) -> tuple[bytes, dict[str, str]]:
        # a roster change: Graph names who in the encrypted resource data only
        return self.fake.notification(meeting_id, "rosterUpdated", at)

    def meeting(self, kind: str, meeting_id: str, at: float) -> tuple[bytes, dict[str, str]]:
        event = "callStarted" if kind == "started" else "callEnded"
        return self.fake.notification(meeting_id, event, at)

    def tampered(self, meeting_id: str) -> tuple[bytes, dict[str, str]]:
        # nothing signs the body: a forgery is one without our clientState
        return self.fake.notification(meeting_id, "callEnded", time.time(), client_state="x")

    def stale(self, meeting_id: str) -> tuple[bytes, dict[str, str]]:
        expired = time.time() - 3600
        return self.fake.notification(meeting_id, "callStarted", time.time(), expires=expired)

    def record_attendance(
        self, meeting_id: str, display_name: str, start: float, end: float
    ) -> None:
        report = self.fake.report(meeting_id, start, end)
        self.fake.attend(meeting_id, report, display_name, [(start, end)])


@contextmanager
def teams_harness() -> Iterator[TeamsAppHarness]:
    with serve_fake_teams() as fake:
        yield TeamsAppHarness(fake)
