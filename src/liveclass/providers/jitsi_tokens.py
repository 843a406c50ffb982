"""Jitsi's JWTs and Jitsi as a Service's webhooks, minted and checked with pyjwt.

Jitsi has no room API: a room exists once someone joins ``https://{domain}/{room}?jwt=...``
(JaaS: ``https://8x8.vc/{AppID}/{room}?jwt=...``), so everything liveclass does for a Jitsi
class is in the token each person gets.

Self-hosted (prosody ``mod_auth_token``): HS256 with the app secret; ``iss`` = app id,
``aud`` = the audience prosody accepts (``asap_accepted_audiences``), ``sub`` = the domain,
``room`` = the bare room name, ``nbf``/``exp``, and ``context.user``. The stock modules do
not read a moderator flag from the token; jitsi-contrib's ``token_affiliation`` does, from
``moderator: "true"`` or ``affiliation: "owner"``, so both are written.

JaaS: RS256 with the key pair whose public half is in the 8x8 console, header
``kid`` = ``{AppID}/{key id}``; ``aud`` "jitsi", ``iss`` "chat", ``sub`` = AppID, ``room``,
``nbf``/``exp``, ``context.user`` with ``moderator`` as a string, and ``context.features``
(recording, ...), which JaaS honours for moderators only and so is written only for them.

JaaS webhooks carry ``X-Jaas-Signature: t=<unix seconds>,v1=<signature>``, the signature
being base64(HMAC-SHA256(endpoint secret, t + "." + raw body)); schemes other than v1 are
ignored, and a ``t`` further than ``TOLERANCE`` (five minutes) from now is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import jwt

from liveclass.domain.errors import Invalid
from liveclass.providers.errors import WebhookRejected
from liveclass.providers.json_fields import flag, integer, submessage, text

JAAS_DOMAIN = "8x8.vc"
JAAS_APP_PREFIX = "vpaas-magic-cookie-"
DEFAULT_AUDIENCE = "jitsi"
SIGNATURE_HEADER = "X-Jaas-Signature"
TOLERANCE = 300.0
# nbf is set this far back so a prosody whose clock runs a little behind ours still
# accepts a token handed out just now.
CLOCK_SKEW = 30
MAX_TTL = 24 * 3600

# Jitsi lowercases room names, and a room is a MUC node: no spaces, '@', '/', ':' or quotes.
_ROOM = re.compile(r"[a-z0-9][a-z0-9_-]{0,127}")
_NOT_ROOM = re.compile(r"[^a-z0-9]+")

PARTICIPANT_JOINED = "PARTICIPANT_JOINED"
PARTICIPANT_LEFT = "PARTICIPANT_LEFT"
ROOM_CREATED = "ROOM_CREATED"
ROOM_DESTROYED = "ROOM_DESTROYED"
RECORDING_UPLOADED = "RECORDING_UPLOADED"


@dataclass(frozen=True, slots=True)
class JitsiUser:
    """``context.user``. Jitsi throws on a null value, so empty optional fields are left out."""

    id: str
    name: str
    moderator: bool = False
    email: str = ""
    avatar: str = ""

    def to_claim(self, *, affiliation: bool) -> dict[str, str]:
        claim = {"id": self.id, "name": self.name, "moderator": _bool(self.moderator)}
        if affiliation:
            claim["affiliation"] = "owner" if self.moderator else "member"
        if self.email:
            claim["email"] = self.email
        if self.avatar:
            claim["avatar"] = self.avatar
        return claim


@dataclass(frozen=True, slots=True)
class JaasFeatures:
    """``context.features``: what a JaaS moderator may start from the meeting."""

    recording: bool = False
    livestreaming: bool = False
    transcription: bool = False
    outbound_call: bool = False
    sip_outbound_call: bool = False

    def to_claim(self) -> dict[str, str]:
        return {
            "recording": _bool(self.recording),
            "livestreaming": _bool(self.livestreaming),
            "transcription": _bool(self.transcription),
            "outbound-call": _bool(self.outbound_call),
            "sip-outbound-call": _bool(self.sip_outbound_call),
        }


def _bool(value: bool) -> str:
    return "true" if value else "false"


def room_name(title: str) -> str:
    """A room name Jitsi keeps as is, made from any text (a class title, a session id);
    accents are dropped rather than the letters that carry them."""
    plain = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    name = _NOT_ROOM.sub("-", plain.lower()).strip("-")[:128].rstrip("-")
    if not name:
        raise Invalid("A Jitsi room name needs a letter or a digit.", field="room")
    return name


def _checked_room(room: str) -> str:
    if not _ROOM.fullmatch(room):
        raise Invalid(
            f"{room!r} is not a Jitsi room name (lowercase letters, digits, - and _).",
            field="room",
        )
    return room


def _times(ttl_seconds: int, now: int | None) -> dict[str, int]:
    if not 0 < ttl_seconds <= MAX_TTL:
        raise Invalid(f"A Jitsi token lives 1 to {MAX_TTL} seconds.", field="ttl_seconds")
    issued = int(time.time()) if now is None else now
    return {"iat": issued, "nbf": issued - CLOCK_SKEW, "exp": issued + ttl_seconds}


def _checked_user(user: JitsiUser) -> JitsiUser:
    if not user.id or not user.name.strip():
        raise Invalid("A Jitsi token needs the person's id and name.", field="user")
    return user


# self-hosted


def jitsi_token(
    *,
    app_id: str,
    app_secret: str,
    domain: str,
    room: str,
    user: JitsiUser,
    ttl_seconds: int,
    audience: str = DEFAULT_AUDIENCE,
    algorithm: str = "HS256",
    now: int | None = None,
) -> str:
    """A prosody ``mod_auth_token`` JWT letting ``user`` into ``room`` on ``domain``."""
    claims: dict[str, Any] = {
        "iss": app_id,
        "aud": audience,
        "sub": domain,
        "room": _checked_room(room),
        **_times(ttl_seconds, now),
        "context": {"user": _checked_user(user).to_claim(affiliation=True)},
    }
    return jwt.encode(claims, app_secret, algorithm=algorithm)


def jitsi_join_link(domain: str, room: str, token: str) -> str:
    return f"https://{domain}/{quote(_checked_room(room))}?jwt={token}"


# Jitsi as a Service


def jaas_kid(app_id: str, key_id: str) -> str:
    """The ``kid`` header, accepting a key id given bare or already as ``{AppID}/{key}``."""
    if not app_id.startswith(JAAS_APP_PREFIX):
        raise Invalid(f"A JaaS AppID starts with {JAAS_APP_PREFIX!r}.", field="app_id")
    bare = key_id.removeprefix(f"{app_id}/")
    if not bare or "/" in bare:
        raise Invalid("The JaaS key id is not one of this AppID's keys.", field="key_id")
    return f"{app_id}/{bare}"


def jaas_token(
    *,
    app_id: str,
    key_id: str,
    private_key: str,
    room: str,
    user: JitsiUser,
    ttl_seconds: int,
    features: JaasFeatures | None = None,
    now: int | None = None,
) -> str:
    """A JaaS JWT for ``user`` in ``room``, signed RS256 with the console key's private half."""
    context: dict[str, Any] = {"user": _checked_user(user).to_claim(affiliation=False)}
    if user.moderator:
        context["features"] = (features or JaasFeatures()).to_claim()
    claims: dict[str, Any] = {
        "aud": "jitsi",
        "iss": "chat",
        "sub": app_id,
        "room": _checked_room(room),
        **_times(ttl_seconds, now),
        "context": context,
    }
    headers = {"kid": jaas_kid(app_id, key_id), "typ": "JWT"}
    return jwt.encode(claims, private_key, algorithm="RS256", headers=headers)


def jaas_join_link(app_id: str, room: str, token: str) -> str:
    return f"https://{JAAS_DOMAIN}/{quote(app_id)}/{quote(_checked_room(room))}?jwt={token}"


# JaaS webhooks

PROVIDER = "JaaS"


def jaas_signature(secret: str, timestamp: str, body: bytes) -> str:
    """The v1 value JaaS sends for ``body`` signed at ``timestamp``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _signature_parts(header: str) -> tuple[str, list[str]]:
    timestamp, signatures = "", []
    for part in header.split(","):
        scheme, _, value = part.strip().partition("=")
        if scheme == "t":
            timestamp = value.strip()
        elif scheme == "v1":
            signatures.append(value.strip())
    return timestamp, signatures


def verify_jaas_webhook(
    *,
    body: bytes,
    signature_header: str | None,
    secret: str,
    tolerance: float = TOLERANCE,
    now: float | None = None,
) -> dict[str, Any]:
    """The delivery's JSON object, once one v1 signature and a fresh ``t`` check out."""
    if not signature_header:
        raise WebhookRejected(PROVIDER, f"no {SIGNATURE_HEADER} header")
    timestamp, signatures = _signature_parts(signature_header)
    if not timestamp.isdigit():
        raise WebhookRejected(PROVIDER, "the signature has no t=<unix time>")
    if not signatures:
        raise WebhookRejected(PROVIDER, "the signature has no v1")
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance:
        raise WebhookRejected(PROVIDER, "the timestamp is stale")
    expected = jaas_signature(secret, timestamp, body).encode()
    if not any(hmac.compare_digest(expected, given.encode()) for given in signatures):
        raise WebhookRejected(PROVIDER, "no v1 signature matches the endpoint secret")
    return _event_object(body)


def _event_object(body: bytes) -> dict[str, Any]:
    try:
        event = json.loads(body)
    except ValueError as exc:
        raise Invalid("The JaaS webhook body is not JSON.", code="INVALID_WEBHOOK_BODY") from exc
    if not isinstance(event, dict) or not text(event, "eventType"):
        raise Invalid("The JaaS webhook body is no event.", code="INVALID_WEBHOOK_BODY")
    return event


@dataclass(frozen=True, slots=True)
class JaasWebhookEvent:
    """The parts of a JaaS event liveclass acts on; empty where the event has none.
    ``idempotency_key`` is JaaS's own id for de-duplication."""

    idempotency_key: str
    event_type: str
    app_id: str
    session_id: str
    timestamp: int  # milliseconds since the epoch
    room: str
    participant_id: str  # context.user.id of the token the person joined with
    participant_name: str
    moderator: bool
    recording_link: str  # RECORDING_UPLOADED: pre-authenticated, valid 24 h

    @classmethod
    def parse(cls, event: Mapping[str, Any]) -> JaasWebhookEvent:
        data = submessage(event, "data")
        # fqn is "{AppID}/{room}"
        room = text(event, "fqn").rpartition("/")[2]
        return cls(
            idempotency_key=text(event, "idempotencyKey"),
            event_type=text(event, "eventType"),
            app_id=text(event, "appId"),
            session_id=text(event, "sessionId"),
            timestamp=integer(event, "timestamp"),
            room=room,
            participant_id=text(data, "id"),
            participant_name=text(data, "name"),
            moderator=flag(data, "moderator"),
            recording_link=text(data, "preAuthenticatedLink"),
        )
