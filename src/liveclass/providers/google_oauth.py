"""Google OAuth 2.0 access tokens for liveclass's calls to Google APIs (Meet, Drive).

Credentials, either of:

- an OAuth refresh token of the Workspace user whose spaces liveclass makes
  (``GOOGLE_CLIENT_ID`` / ``GOOGLE_CLIENT_SECRET`` / ``GOOGLE_REFRESH_TOKEN``): the form
  ``grant_type=refresh_token&client_id&client_secret&refresh_token``;
- a service account with domain-wide delegation (``GOOGLE_SERVICE_ACCOUNT_FILE``, the JSON
  key Google hands out, and ``GOOGLE_DELEGATED_USER``, the user it acts as): the JWT-bearer
  grant of RFC 7523, ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=``
  a JWT signed RS256 with the account's private key (``kid`` its ``private_key_id``) whose
  claims are ``iss`` the account's ``client_email``, ``sub`` the delegated user, ``scope``
  the scopes asked for (space-separated), ``aud`` the token endpoint, ``iat`` and ``exp``
  (at most an hour later).

Either is ``POST {oauth_url}``, answered ``{access_token, expires_in, token_type}``;
Google's refusals are ``{error, error_description}`` (``invalid_grant`` for a revoked
refresh token or a delegation the Workspace admin has not granted).

``GoogleTokenSource`` is the shared token cache (``providers.access_tokens``) on that
request: concurrent calls cost one token request and share its failure; a caller refused
with 401 drops that token (``invalidate``) and asks again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt

from liveclass.providers.access_tokens import AccessTokens, Clock, IssuedToken, request_token

GOOGLE_OAUTH_URL = "https://oauth2.googleapis.com/token"
PROVIDER = "Google"
DEFAULT_TIMEOUT = 10.0
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_SECONDS = 3600  # Google's limit for an assertion's exp - iat
# What a delegated service account asks for (a refresh token carries the scopes it was
# granted with): making and ending its spaces, reading their records, and the recordings'
# files in the user's Drive.
MEET_SCOPES = (
    "https://www.googleapis.com/auth/meetings.space.created",
    "https://www.googleapis.com/auth/meetings.space.readonly",
    "https://www.googleapis.com/auth/drive.readonly",
)


@dataclass(frozen=True, slots=True)
class RefreshCredentials:
    client_id: str
    client_secret: str
    refresh_token: str

    def form(self, *, audience: str, now: float) -> dict[str, str]:
        return {
            "grant_type": "refresh_token",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
        }


@dataclass(frozen=True, slots=True)
class DelegatedCredentials:
    """A service account's key, acting as one Workspace user (domain-wide delegation)."""

    client_email: str
    private_key: str  # PEM, as in the key file
    private_key_id: str
    subject: str  # the user the account acts as
    scopes: tuple[str, ...] = MEET_SCOPES

    @classmethod
    def of_key(cls, key: Mapping[str, Any], *, subject: str) -> DelegatedCredentials:
        """From a service account's JSON key (``type: service_account``)."""
        fields = ("client_email", "private_key", "private_key_id")
        missing = [name for name in fields if not isinstance(key.get(name), str) or not key[name]]
        if key.get("type") != "service_account" or missing:
            raise ValueError(
                "not a service account key (type service_account with "
                + ", ".join(fields)
                + (f"; missing {', '.join(missing)}" if missing else "")
                + ")"
            )
        return cls(key["client_email"], key["private_key"], key["private_key_id"], subject)

    @classmethod
    def of_file(cls, path: Path, *, subject: str) -> DelegatedCredentials:
        try:
            key = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path}: not a readable JSON key ({exc})") from exc
        if not isinstance(key, dict):
            raise ValueError(f"{path}: not a service account key")
        return cls.of_key(key, subject=subject)

    def assertion(self, *, audience: str, now: float) -> str:
        issued = int(now)
        claims = {
            "iss": self.client_email,
            "sub": self.subject,
            "scope": " ".join(self.scopes),
            "aud": audience,
            "iat": issued,
            "exp": issued + ASSERTION_SECONDS,
        }
        return jwt.encode(
            claims, self.private_key, algorithm="RS256", headers={"kid": self.private_key_id}
        )

    def form(self, *, audience: str, now: float) -> dict[str, str]:
        return {"grant_type": JWT_BEARER, "assertion": self.assertion(audience=audience, now=now)}


GoogleCredentials = RefreshCredentials | DelegatedCredentials


class GoogleTokenSource(AccessTokens):
    """Access tokens of one credential, cached and shared by concurrent callers."""

    def __init__(
        self,
        credentials: GoogleCredentials,
        *,
        http: httpx.AsyncClient,
        oauth_url: str = GOOGLE_OAUTH_URL,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Clock = time.monotonic,
    ) -> None:
        super().__init__(self._request, clock=clock)
        self.oauth_url = oauth_url
        self._credentials = credentials
        self._http = http
        self._timeout = httpx.Timeout(timeout)

    async def _request(self) -> IssuedToken:
        return await request_token(
            self._http,
            PROVIDER,
            self.oauth_url,
            limit=self._timeout,
            # the assertion's audience is the endpoint it is sent to, and its time the
            # wall clock's (Google checks iat and exp against its own)
            data=self._credentials.form(audience=self.oauth_url, now=time.time()),
        )
