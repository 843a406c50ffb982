"""Tokens liveclass issues and checks itself: realtime access tokens and invite tokens.

Both are HS256 JWTs signed with ``SECRET_KEY``; a ``typ`` claim keeps one kind from being
used as the other.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from liveclass.domain.errors import Unauthorized
from liveclass.domain.roles import Role

_ACCESS = "lc-access"
_INVITE = "lc-invite"
# ``sub`` of the recorder's token; platforms' user ids never carry our prefix.
RECORDER_USER_ID = "liveclass:recorder"


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """What a realtime access token says: this user, as this participant, in this session."""

    session_id: uuid.UUID
    participant_id: uuid.UUID
    user_id: str
    name: str
    role: Role
    token_version: int
    expires_at: int
    # A system participant (the mesh recorder): not a row in the session's participants,
    # left out of presence and attendance, only receives media.
    hidden: bool = False


def _b64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


# The JOSE header of every token we sign, as PyJWT writes it.
_HS256_HEADER = _b64url(b'{"alg":"HS256","typ":"JWT"}')


class TokenIssuer:
    def __init__(self, secret_key: str, *, access_ttl_seconds: int) -> None:
        self._key = secret_key
        self._key_bytes = secret_key.encode()
        self.access_ttl_seconds = access_ttl_seconds
        self._signed_invite = functools.lru_cache(maxsize=4096)(self._sign_invite)

    def access_token(
        self,
        *,
        session_id: uuid.UUID,
        participant_id: uuid.UUID,
        user_id: str,
        name: str,
        role: Role,
        token_version: int,
    ) -> tuple[str, int]:
        """Return the token and its expiry (unix seconds)."""
        now = int(time.time())
        exp = now + self.access_ttl_seconds
        claims = {
            "typ": _ACCESS,
            "sid": str(session_id),
            "pid": str(participant_id),
            "sub": user_id,
            "name": name,
            "role": role.value,
            "tv": token_version,
            "iat": now,
            "exp": exp,
        }
        return self._sign(claims), exp

    def recorder_token(
        self, *, session_id: uuid.UUID, recorder_id: uuid.UUID, ttl_seconds: int
    ) -> str:
        """An access token for the hidden recorder peer of a session (no participant row)."""
        now = int(time.time())
        claims = {
            "typ": _ACCESS,
            "sid": str(session_id),
            "pid": str(recorder_id),
            "sub": RECORDER_USER_ID,
            "name": "Recorder",
            "role": Role.VIEWER.value,
            "tv": 0,
            "sys": "recorder",
            "iat": now,
            "exp": now + ttl_seconds,
        }
        return self._sign(claims)

    def verify_access(self, token: str) -> AccessClaims:
        claims = self._decode(token, _ACCESS)
        try:
            return AccessClaims(
                session_id=uuid.UUID(claims["sid"]),
                participant_id=uuid.UUID(claims["pid"]),
                user_id=str(claims["sub"]),
                name=str(claims["name"]),
                role=Role(claims["role"]),
                token_version=int(claims["tv"]),
                expires_at=int(claims["exp"]),
                hidden=claims.get("sys") == "recorder",
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise Unauthorized("The access token is malformed.", code="TOKEN_INVALID") from exc

    def invite_token(self, *, session_id: uuid.UUID | str, version: int) -> str:
        """The session's invite for this ``version``: the same token until it is rotated.

        No ``iat``, so the token is a pure function of its claims and is signed once per
        (session, version) rather than on every listing of a host's sessions.
        """
        return self._signed_invite(str(session_id), version)

    def _sign_invite(self, session_id: str, version: int) -> str:
        claims = {"typ": _INVITE, "sid": session_id, "v": version}
        return self._sign(claims)

    def _sign(self, claims: dict[str, Any]) -> str:
        """An HS256 JWT (RFC 7515 compact form), byte for byte what ``jwt.encode`` writes
        for these claims (compact, ASCII-only JSON in the claims' order: the classroom
        page reads the role out of the payload with ``atob``). Signed here because PyJWT's
        generic path (key checks, header merging, JSON encoder) cost about 30 µs of the
        join's CPU; checking tokens stays with PyJWT."""
        signing_input = (
            _HS256_HEADER + b"." + _b64url(json.dumps(claims, separators=(",", ":")).encode())
        )
        signature = hmac.new(self._key_bytes, signing_input, hashlib.sha256).digest()
        return (signing_input + b"." + _b64url(signature)).decode()

    def invite_matches(self, token: str, *, session_id: uuid.UUID, version: int) -> bool:
        """True when ``token`` is this session's current invite (rotation bumps ``version``)."""
        try:
            claims = self._decode(token, _INVITE)
        except Unauthorized:
            return False
        return claims.get("sid") == str(session_id) and claims.get("v") == version

    def _decode(self, token: str, typ: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(token, self._key, algorithms=["HS256"])
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("The token has expired.", code="TOKEN_EXPIRED") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized("The token is invalid.", code="TOKEN_INVALID") from exc
        if claims.get("typ") != typ:
            raise Unauthorized("The token is of the wrong kind.", code="TOKEN_INVALID")
        return claims
