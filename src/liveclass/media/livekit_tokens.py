"""LiveKit's JWTs, minted and checked by liveclass itself with pyjwt (HS256, API secret).

Three kinds, all with ``iss`` = the API key:

- participant access tokens, handed to livekit-client: ``sub`` = identity, ``name``,
  ``metadata`` (a JSON string), ``nbf``/``exp`` and the ``video`` grant;
- server tokens, one per Twirp call, carrying only the grant that call needs;
- webhook signatures: LiveKit puts a token in ``Authorization`` (no ``Bearer``) whose
  ``sha256`` claim is the base64 SHA-256 of the raw body.

Claim names are LiveKit's (camelCase grant keys). livekit-api is the test oracle for all
three, but a runtime dependency only for this would pull aiohttp and protobuf into every
install.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jwt

from liveclass.domain.errors import Invalid, Unauthorized
from liveclass.media.livekit_messages import TRACK_SOURCES, EgressInfo, integer, submessage, text

ALGORITHM = "HS256"
# LiveKit signs webhooks for five minutes; server tokens need to outlive one call only.
SERVER_TOKEN_TTL = 60
MAX_PARTICIPANT_TTL = 24 * 3600


@dataclass(frozen=True, slots=True)
class VideoGrants:
    """The ``video`` claim. Publishing flags are always written: LiveKit reads a missing
    ``canPublish``/``canSubscribe``/``canPublishData`` as *true*, so leaving one out would
    grant it. The other flags are written only when set, as LiveKit's SDKs do."""

    room_join: bool = False
    room: str = ""
    can_publish: bool = False
    can_publish_sources: Sequence[str] | None = None
    can_subscribe: bool = False
    can_publish_data: bool = False
    can_update_own_metadata: bool = False
    room_admin: bool = False
    room_create: bool = False
    room_list: bool = False
    room_record: bool = False
    hidden: bool = False

    def __post_init__(self) -> None:
        if self.can_publish_sources is not None:
            sources = tuple(self.can_publish_sources)
            unknown = sorted(set(sources) - set(TRACK_SOURCES))
            if unknown:
                raise ValueError(f"unknown LiveKit track sources {unknown}; use {TRACK_SOURCES}")
            # frozen, and hashable like the rest of the grant
            object.__setattr__(self, "can_publish_sources", sources)

    def to_claim(self) -> dict[str, Any]:
        claim: dict[str, Any] = {
            "canPublish": self.can_publish,
            "canSubscribe": self.can_subscribe,
            "canPublishData": self.can_publish_data,
        }
        if self.can_publish_sources is not None:
            claim["canPublishSources"] = list(self.can_publish_sources)
        if self.room:
            claim["room"] = self.room
        optional = {
            "roomJoin": self.room_join,
            "canUpdateOwnMetadata": self.can_update_own_metadata,
            "roomAdmin": self.room_admin,
            "roomCreate": self.room_create,
            "roomList": self.room_list,
            "roomRecord": self.room_record,
            "hidden": self.hidden,
        }
        claim.update({name: True for name, granted in optional.items() if granted})
        return claim


def participant_token(
    *,
    api_key: str,
    api_secret: str,
    room: str,
    identity: str,
    name: str,
    metadata: Mapping[str, Any],
    grants: VideoGrants,
    ttl_seconds: int,
) -> str:
    """An access token that lets ``identity`` join ``room`` with ``grants``.

    LiveKit checks the expiry only when the client first connects, so a short ``ttl`` bounds
    how long a leaked token stays usable without cutting anyone off mid-class.
    """
    if not identity or not room:
        raise ValueError("a participant token needs an identity and a room")
    if grants.room and grants.room != room:
        raise ValueError(f"the grants name room {grants.room!r}, the token {room!r}")
    if not 0 < ttl_seconds <= MAX_PARTICIPANT_TTL:
        raise ValueError(f"ttl_seconds must be in 1..{MAX_PARTICIPANT_TTL}")
    video = {**grants.to_claim(), "roomJoin": True, "room": room}
    now = int(time.time())
    claims = {
        "iss": api_key,
        "sub": identity,
        "name": name,
        "metadata": json.dumps(dict(metadata), separators=(",", ":"), sort_keys=True),
        "nbf": now,
        "exp": now + ttl_seconds,
        "video": video,
    }
    return jwt.encode(claims, api_secret, algorithm=ALGORITHM)


def server_token(
    *, api_key: str, api_secret: str, grants: VideoGrants, ttl_seconds: int = SERVER_TOKEN_TTL
) -> str:
    """A token for one server API call; it names no participant."""
    now = int(time.time())
    video = {
        name: value
        for name, value in grants.to_claim().items()
        # the publishing flags mean nothing to the server API
        if name not in ("canPublish", "canSubscribe", "canPublishData")
    }
    claims = {"iss": api_key, "nbf": now, "exp": now + ttl_seconds, "video": video}
    return jwt.encode(claims, api_secret, algorithm=ALGORITHM)


class WebhookRejected(Unauthorized):
    """A webhook that LiveKit did not sign for this body (401; the body is not read)."""

    code = "INVALID_WEBHOOK_SIGNATURE"

    def __init__(self, reason: str) -> None:
        super().__init__(f"The LiveKit webhook was refused: {reason}.")
        self.reason = reason


def body_hash(body: bytes) -> str:
    """The ``sha256`` claim LiveKit puts in a webhook's token for ``body``."""
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def verify_webhook(
    *,
    body: bytes,
    authorization: str | None,
    api_key: str,
    api_secret: str,
    leeway: float = 60.0,
) -> dict[str, Any]:
    """The webhook's JSON event, once its signature, issuer, age and body hash check out."""
    if not authorization:
        raise WebhookRejected("no Authorization header")
    claims = _webhook_claims(authorization.strip(), api_key, api_secret, leeway)
    signed_hash = claims.get("sha256")
    if not isinstance(signed_hash, str) or not signed_hash:
        raise WebhookRejected("the token has no sha256 claim")
    try:
        expected = base64.b64decode(signed_hash, validate=True)
    except ValueError as exc:
        raise WebhookRejected("the sha256 claim is not base64") from exc
    if not hmac.compare_digest(expected, hashlib.sha256(body).digest()):
        raise WebhookRejected("the body does not match the signed sha256")
    return _event_object(body)


def _webhook_claims(token: str, api_key: str, api_secret: str, leeway: float) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            api_secret,
            algorithms=[ALGORITHM],
            issuer=api_key,
            leeway=leeway,
            options={"require": ["exp", "iss"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise WebhookRejected("the token has expired") from exc
    except jwt.InvalidIssuerError as exc:
        raise WebhookRejected("the token was issued for another API key") from exc
    except jwt.InvalidSignatureError as exc:
        raise WebhookRejected("the signature does not match the API secret") from exc
    except jwt.PyJWTError as exc:
        raise WebhookRejected(f"the token is invalid ({type(exc).__name__})") from exc
    return claims


def _event_object(body: bytes) -> dict[str, Any]:
    try:
        event = json.loads(body)
    except ValueError as exc:
        raise Invalid("The LiveKit webhook body is not JSON.", code="INVALID_WEBHOOK_BODY") from exc
    if not isinstance(event, dict):
        raise Invalid("The LiveKit webhook body is not an object.", code="INVALID_WEBHOOK_BODY")
    return event


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """The parts of LiveKit's ``WebhookEvent`` liveclass acts on; empty strings where absent."""

    id: str
    event: str
    created_at: int  # seconds since the epoch
    room_name: str
    room_sid: str
    participant_identity: str
    participant_sid: str
    participant_name: str
    egress: EgressInfo | None

    @classmethod
    def parse(cls, event: Mapping[str, Any]) -> WebhookEvent:
        room = submessage(event, "room")
        participant = submessage(event, "participant")
        egress = submessage(event, "egress_info")
        return cls(
            id=text(event, "id"),
            event=text(event, "event"),
            created_at=integer(event, "created_at"),
            room_name=text(room, "name") or text(egress, "room_name"),
            room_sid=text(room, "sid") or text(egress, "room_id"),
            participant_identity=text(participant, "identity"),
            participant_sid=text(participant, "sid"),
            participant_name=text(participant, "name"),
            egress=EgressInfo.parse(egress) if egress else None,
        )
