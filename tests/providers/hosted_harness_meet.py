"""The fake Google Meet behind the app's ``GOOGLE_*`` settings, for the contract suite.

Meet names no person in its pushed participant events (only the participant session), and
has no call to delete a space: the harness says so (``lacks``) and the contract suite
skips those steps for it."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

from cryptography.hazmat.primitives.asymmetric import rsa

from liveclass.providers.meet import (
    CONFERENCE_ENDED,
    CONFERENCE_STARTED,
    PARTICIPANT_JOINED,
    PARTICIPANT_LEFT,
    RECORDING_GENERATED,
)
from tests.support.fake_meet import FakeMeet, serve_fake_meet


@dataclass
class MeetAppHarness:
    fake: FakeMeet
    provider: str = "meet"
    has_meeting_api: bool = True
    lacks: ClassVar[Mapping[str, str]] = {
        "delete": "Meet has no call to delete a space: cancel calls nothing",
        "own_link": "Meet has no per-person token: everyone joins by the space's meetingUri",
        "pushed_attendance": (
            "Meet's pushed participant events name only a participant session, no person:"
            " attendance is read from the conference records when the class ends"
        ),
    }

    def settings(self) -> dict[str, Any]:
        return {
            "google_client_id": self.fake.client_id,
            "google_client_secret": self.fake.client_secret,
            "google_refresh_token": self.fake.refresh_token,
            "google_oauth_url": f"{self.fake.url}/token",
            "google_meet_api_url": f"{self.fake.url}/v2",
            "google_oidc_certs_url": f"{self.fake.url}/certs",
            "google_pubsub_audience": self.fake.audience,
        }

    def meeting_id(self, session: Mapping[str, Any]) -> str:
        (found,) = [
            s for s in self.fake.spaces.values() if s["meetingUri"] == session["meeting_url"]
        ]
        return str(found["name"]).removeprefix("spaces/")

    def calls(self) -> list[tuple[str, str]]:
        return [(c.method, c.path) for c in self.fake.calls]

    def fail_next(self, count: int, status: int, retry_after: str | None = None) -> None:
        self.fake.fail_next, self.fake.fail_status = count, status
        self.fake.retry_after = retry_after

    def participant(
        self, kind: str, meeting_id: str, user_id: str, connection: str, at: float
    ) -> tuple[bytes, dict[str, str]]:
        session = f"conferenceRecords/r/participants/{user_id}/participantSessions/{connection}"
        event = PARTICIPANT_JOINED if kind == "joined" else PARTICIPANT_LEFT
        return self.fake.push(event, meeting_id, {"participantSession": {"name": session}}, at=at)

    def meeting(self, kind: str, meeting_id: str, at: float) -> tuple[bytes, dict[str, str]]:
        event = CONFERENCE_STARTED if kind == "started" else CONFERENCE_ENDED
        record = {"conferenceRecord": {"name": "conferenceRecords/r"}}
        return self.fake.push(event, meeting_id, record, at=at)

    def record_attendance(
        self, meeting_id: str, display_name: str, start: float, end: float
    ) -> None:
        record = self.fake.start_conference(meeting_id, start)
        self.fake.attend(record, display_name, start, end)

    def record_file(self, meeting_id: str, content: bytes, at: float) -> str:
        record = self.fake.start_conference(meeting_id, at - 60)
        return self.fake.record_file(record, content, at=at)

    def record_transcript(self, meeting_id: str, at: float) -> str:
        record = self.fake.start_conference(meeting_id, at - 60)
        return self.fake.record_transcript(record, at=at)[1]

    def push_file(self, meeting_id: str, recording: str, at: float) -> tuple[bytes, dict[str, str]]:
        # the push as Workspace Events sends it without the resource: the recording's name
        data = {"recording": {"name": recording}}
        return self.fake.push(RECORDING_GENERATED, meeting_id, data, at=at)

    def tampered(self, meeting_id: str) -> tuple[bytes, dict[str, str]]:
        # the OIDC token signs no body: a forgery is a token Google's keys did not sign
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        token = self.fake.oidc_token(key=other)
        return self.fake.push(CONFERENCE_ENDED, meeting_id, {}, at=time.time(), token=token)

    def stale(self, meeting_id: str) -> tuple[bytes, dict[str, str]]:
        token = self.fake.oidc_token(issued=time.time() - 7200)  # expired an hour ago
        return self.fake.push(CONFERENCE_STARTED, meeting_id, {}, at=time.time(), token=token)


@contextmanager
def meet_harness() -> Iterator[MeetAppHarness]:
    with serve_fake_meet() as fake:
        yield MeetAppHarness(fake)
