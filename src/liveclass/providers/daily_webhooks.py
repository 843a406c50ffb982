"""Daily's webhooks: the signature check, the verification ping and the event envelope.

Daily signs each delivery with the webhook's ``hmac`` secret (base64, as ``POST /webhooks``
returns it): ``X-Webhook-Signature`` = base64 HMAC-SHA256, keyed with the *decoded* secret,
over ``X-Webhook-Timestamp + "." + raw body``. Daily documents no timestamp tolerance; we
refuse deliveries more than ``DEFAULT_TOLERANCE`` seconds from our clock, either way, so a
captured delivery cannot be replayed later. The timestamp is read as Unix seconds, or
milliseconds when it is that large.

When a webhook is created Daily first POSTs a test body (not an event) and needs a 200
within seconds: ``is_verification_request`` recognises it so the endpoint can answer at
once without touching anything.

Events are ``{version, type, id, payload, event_ts}``; ``id`` is what de-duplicates.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from liveclass.domain.errors import Invalid
from liveclass.providers.daily_api import PROVIDER
from liveclass.providers.errors import WebhookRejected
from liveclass.providers.hosted import header

SIGNATURE_HEADER = "X-Webhook-Signature"
TIMESTAMP_HEADER = "X-Webhook-Timestamp"
DEFAULT_TOLERANCE = 300.0
# A Unix time in seconds passes this only in the year 5138; bigger means milliseconds.
_MILLISECONDS_FROM = 100_000_000_000

MEETING_STARTED = "meeting.started"
MEETING_ENDED = "meeting.ended"
PARTICIPANT_JOINED = "participant.joined"
PARTICIPANT_LEFT = "participant.left"
RECORDING_STARTED = "recording.started"
RECORDING_READY = "recording.ready-to-download"
RECORDING_ERROR = "recording.error"


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Webhook-Signature`` Daily sends for ``body`` at ``timestamp``."""
    key = _secret_key(secret)
    digest = hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_signature(
    *,
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> None:
    """Refuse (``WebhookRejected``) unless the signature is Daily's for this body and
    the timestamp is within ``tolerance`` seconds of ``now``. Header names are matched
    case-insensitively, as HTTP says."""
    signature = header(headers, SIGNATURE_HEADER) or ""
    timestamp = header(headers, TIMESTAMP_HEADER) or ""
    if not signature:
        raise WebhookRejected(PROVIDER, f"no {SIGNATURE_HEADER} header")
    if not timestamp:
        raise WebhookRejected(PROVIDER, f"no {TIMESTAMP_HEADER} header")
    _check_fresh(timestamp, tolerance, time.time() if now is None else now)
    expected = webhook_signature(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise WebhookRejected(PROVIDER, "the signature does not match the body and timestamp")


def is_verification_request(body: bytes) -> bool:
    """Daily's test POST when a webhook is created: JSON that is not an event envelope."""
    try:
        message = json.loads(body or b"null")
    except ValueError:
        return False
    return not (isinstance(message, dict) and "type" in message and "id" in message)


@dataclass(frozen=True, slots=True)
class MeetingChange:
    room: str
    meeting_id: str
    start_ts: float
    end_ts: float | None  # only on meeting.ended


@dataclass(frozen=True, slots=True)
class ParticipantChange:
    room: str
    session_id: str  # this connection; one person may join several times
    user_id: str
    user_name: str
    owner: bool
    joined_at: float
    duration: float | None  # seconds in the room, only on participant.left


@dataclass(frozen=True, slots=True)
class RecordingReady:
    room: str
    recording_id: str
    start_ts: float
    duration: float
    status: str


@dataclass(frozen=True, slots=True)
class DailyEvent:
    """One delivery's envelope; the typed readers below check the payload for its type."""

    id: str
    type: str
    version: str
    event_ts: float
    payload: Mapping[str, Any]

    def meeting(self) -> MeetingChange:
        self._expect(MEETING_STARTED, MEETING_ENDED)
        end = _number(self.payload, "end_ts") if self.type == MEETING_ENDED else None
        return MeetingChange(
            room=_required_text(self.payload, "room"),
            meeting_id=_required_text(self.payload, "meeting_id"),
            start_ts=_required_number(self.payload, "start_ts"),
            end_ts=end,
        )

    def participant(self) -> ParticipantChange:
        self._expect(PARTICIPANT_JOINED, PARTICIPANT_LEFT)
        left = self.type == PARTICIPANT_LEFT
        return ParticipantChange(
            room=_required_text(self.payload, "room"),
            session_id=_required_text(self.payload, "session_id"),
            user_id=_text(self.payload, "user_id"),
            user_name=_text(self.payload, "user_name"),
            owner=self.payload.get("owner") is True,
            joined_at=_required_number(self.payload, "joined_at"),
            duration=_required_number(self.payload, "duration") if left else None,
        )

    def recording_ready(self) -> RecordingReady:
        self._expect(RECORDING_READY)
        return RecordingReady(
            room=_required_text(self.payload, "room_name"),
            recording_id=_required_text(self.payload, "recording_id"),
            start_ts=_number(self.payload, "start_ts") or 0.0,
            duration=_number(self.payload, "duration") or 0.0,
            status=_text(self.payload, "status"),
        )

    def _expect(self, *types: str) -> None:
        if self.type not in types:
            raise ValueError(f"a {self.type} event has no {' or '.join(types)} payload")


def parse_event(body: bytes) -> DailyEvent:
    """The envelope of a verified delivery; ``Invalid`` naming the field if it is not one."""
    try:
        message = json.loads(body)
    except ValueError as exc:
        raise Invalid("The Daily webhook body is not JSON.", field="body") from exc
    if not isinstance(message, dict):
        raise Invalid("The Daily webhook body is not a JSON object.", field="body")
    payload = message.get("payload")
    if not isinstance(payload, dict):
        raise Invalid("The Daily event has no payload object.", field="payload")
    return DailyEvent(
        id=_required_text(message, "id"),
        type=_required_text(message, "type"),
        version=str(message.get("version", "")),
        event_ts=_required_number(message, "event_ts"),
        payload=payload,
    )


def read_webhook(
    *,
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> DailyEvent | None:
    """A verified event, or None for Daily's verification ping (answer it 200)."""
    if not (header(headers, SIGNATURE_HEADER) or "") and is_verification_request(body):
        return None
    verify_signature(secret=secret, headers=headers, body=body, tolerance=tolerance, now=now)
    return parse_event(body)


def _secret_key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("the Daily webhook secret (hmac) must be base64") from exc


def _check_fresh(timestamp: str, tolerance: float, now: float) -> None:
    try:
        sent = float(timestamp)
    except ValueError as exc:
        raise WebhookRejected(PROVIDER, f"{TIMESTAMP_HEADER} is not a number") from exc
    if sent >= _MILLISECONDS_FROM:
        sent /= 1000
    if abs(now - sent) > tolerance:
        raise WebhookRejected(
            PROVIDER,
            f"the timestamp is {abs(now - sent):.0f} s from now (tolerance {tolerance:.0f} s)",
        )


def _text(message: Mapping[str, Any], key: str) -> str:
    value = message.get(key)
    return value if isinstance(value, str) else ""


def _required_text(message: Mapping[str, Any], key: str) -> str:
    value = _text(message, key)
    if not value:
        raise Invalid(f"The Daily event has no {key!r}.", field=key)
    return value


def _number(message: Mapping[str, Any], key: str) -> float | None:
    value = message.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _required_number(message: Mapping[str, Any], key: str) -> float:
    value = _number(message, key)
    if value is None:
        raise Invalid(f"The Daily event has no number {key!r}.", field=key)
    return value
