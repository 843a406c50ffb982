"""Google OAuth 2.0 access tokens for liveclass's calls to Google APIs (Meet, Drive).

Credentials: an OAuth refresh token of the Workspace user whose spaces liveclass makes
(``GOOGLE_CLIENT_ID`` / ``GOOGLE_CLIENT_SECRET`` / ``GOOGLE_REFRESH_TOKEN``). A token is
``POST {oauth_url}`` with the form ``grant_type=refresh_token&client_id&client_secret&
refresh_token``, answered ``{access_token, expires_in, token_type, scope}``; Google's
refusals are ``{error, error_description}`` (``invalid_grant`` for a revoked refresh token).

``GoogleTokenSource`` is the shared token cache (``providers.access_tokens``) on that
request: concurrent calls cost one token request and share its failure; a caller refused
with 401 drops that token (``invalidate``) and asks again.

Not done: a service account with domain-wide delegation (a JWT-bearer grant signed RS256
with the account's key, ``sub`` = the delegated user). The refresh-token grant covers the
seed's settings; the delegation grant would be a second ``_fetch`` on the same source.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from liveclass.providers.access_tokens import AccessTokens, Clock, IssuedToken, request_token

GOOGLE_OAUTH_URL = "https://oauth2.googleapis.com/token"
PROVIDER = "Google"
DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class RefreshCredentials:
    client_id: str
    client_secret: str
    refresh_token: str

    def form(self) -> dict[str, str]:
        return {
            "grant_type": "refresh_token",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
        }


class GoogleTokenSource(AccessTokens):
    """Access tokens from one refresh token, cached and shared by concurrent callers."""

    def __init__(
        self,
        credentials: RefreshCredentials,
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
            data=self._credentials.form(),
        )
