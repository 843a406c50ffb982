"""Zoom's webhooks: the ``x-zm-signature`` check, the ``endpoint.url_validation`` challenge
and the events liveclass acts on.

Zoom signs every delivery (the challenge included) with the app's secret token::

    x-zm-signature = "v0=" + hex(HMAC-SHA256(secret, "v0:" + x-zm-request-timestamp + ":" + body))

where the timestamp is in seconds. Zoom publishes no tolerance; liveclass refuses a
timestamp more than ``TOLERANCE`` (five minutes) away from its own clock, either way, which
bounds how long a captured delivery can be replayed while leaving room for clock skew and
Zoom's retries (each retry is signed afresh).

The challenge: for ``event == "endpoint.url_validation"`` Zoom expects, within three
seconds, 200 with ``{plainToken, encryptedToken: hex(HMAC-SHA256(secret, plainToken))}``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from liveclass.domain.errors import Invalid
from liveclass.providers.errors import WebhookRejected
from liveclass.providers.json_fields import integer, submessage, text
from liveclass.providers.zoom_api import PROVIDER, MeetingRecordings

SIGNATURE_HEADER = "x-zm-signature"
TIMESTAMP_HEADER = "x-zm-request-timestamp"
URL_VALIDATION = "endpoint.url_validation"
TOLERANCE = 300.0

MEETING_STARTED = "meeting.started"
MEETING_ENDED = "meeting.ended"
PARTICIPANT_JOINED = "meeting.participant_joined"
PARTICIPANT_LEFT = "meeting.participant_left"
RECORDING_COMPLETED = "recording.completed"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``x-zm-signature`` Zoom sends for ``body`` at ``timestamp``."""
    message = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify_webhook(
    *,
    body: bytes,
    signature_header: str | None,
    timestamp_header: str | None,
    secret: str,
    tolerance: float = TOLERANCE,
    now: float | None = None,
) -> dict[str, Any]:
    """The delivery's JSON object, once Zoom's signature and a fresh timestamp check out."""
    if not signature_header:
        raise WebhookRejected(PROVIDER, f"no {SIGNATURE_HEADER} header")
    if not timestamp_header or not timestamp_header.strip().isdigit():
        raise WebhookRejected(PROVIDER, f"no usable {TIMESTAMP_HEADER} header")
    timestamp = timestamp_header.strip()
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance:
        raise WebhookRejected(PROVIDER, "the timestamp is stale")
    expected = signature(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature_header.strip().encode()):
        raise WebhookRejected(PROVIDER, "the signature does not match the secret token")
    return _event_object(body)


def url_validation_answer(event: Mapping[str, Any], secret: str) -> dict[str, str]:
    """The body answering a (verified) ``endpoint.url_validation`` challenge."""
    plain = text(submessage(event, "payload"), "plainToken")
    if text(event, "event") != URL_VALIDATION or not plain:
        raise Invalid("This is not a Zoom URL validation.", code="INVALID_WEBHOOK_BODY")
    encrypted = hmac.new(secret.encode(), plain.encode(), hashlib.sha256).hexdigest()
    return {"plainToken": plain, "encryptedToken": encrypted}


def _event_object(body: bytes) -> dict[str, Any]:
    try:
        event = json.loads(body)
    except ValueError as exc:
        raise Invalid("The Zoom webhook body is not JSON.", code="INVALID_WEBHOOK_BODY") from exc
    if not isinstance(event, dict) or not text(event, "event"):
        raise Invalid("The Zoom webhook body is no event.", code="INVALID_WEBHOOK_BODY")
    return event


@dataclass(frozen=True, slots=True)
class ZoomParticipant:
    """``payload.object.participant``. ``user_id`` is the id within this meeting instance;
    ``participant_uuid`` stays the same if the person rejoins."""

    user_id: str
    participant_uuid: str
    name: str
    email: str
    customer_key: str
    registrant_id: str
    at: str  # join_time or leave_time, ISO UTC

    @classmethod
    def parse(cls, message: Mapping[str, Any]) -> ZoomParticipant:
        return cls(
            user_id=text(message, "user_id"),
            participant_uuid=text(message, "participant_uuid"),
            name=text(message, "user_name"),
            email=text(message, "email"),
            customer_key=text(message, "customer_key"),
            registrant_id=text(message, "registrant_id"),
            at=text(message, "join_time") or text(message, "leave_time"),
        )


@dataclass(frozen=True, slots=True)
class ZoomWebhookEvent:
    """The parts of a Zoom event liveclass acts on; empty where the event has none.

    Zoom's events carry no id of their own, and a retried delivery repeats the same body, so
    ``key`` (event, ``event_ts``, meeting instance, participant) identifies one event for
    de-duplication.
    """

    event: str
    event_ts: int  # milliseconds since the epoch
    meeting_id: int
    meeting_uuid: str
    host_id: str
    start_time: str
    end_time: str
    participant: ZoomParticipant | None
    recordings: MeetingRecordings | None
    download_token: str

    @property
    def key(self) -> str:
        who = ""
        if self.participant is not None:
            who = self.participant.participant_uuid or self.participant.user_id
        return hashlib.sha256(
            f"{self.event}|{self.event_ts}|{self.meeting_uuid}|{who}".encode()
        ).hexdigest()

    @classmethod
    def parse(cls, event: Mapping[str, Any]) -> ZoomWebhookEvent:
        name = text(event, "event")
        meeting = submessage(submessage(event, "payload"), "object")
        participant = submessage(meeting, "participant")
        return cls(
            event=name,
            event_ts=integer(event, "event_ts"),
            meeting_id=integer(meeting, "id"),
            meeting_uuid=text(meeting, "uuid"),
            host_id=text(meeting, "host_id"),
            start_time=text(meeting, "start_time"),
            end_time=text(meeting, "end_time"),
            participant=ZoomParticipant.parse(participant) if participant else None,
            recordings=MeetingRecordings.parse(meeting) if name == RECORDING_COMPLETED else None,
            download_token=text(event, "download_token"),
        )
