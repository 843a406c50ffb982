"""A stand-in for Google's token endpoint, the Meet REST API (``/v2``), Google's OIDC
certificates and Pub/Sub push deliveries, on 127.0.0.1, following Google's documents:

- ``POST /token`` (form ``grant_type=refresh_token``, client id/secret, refresh token)
  answers ``{access_token, expires_in, token_type}``; a wrong grant ``400 invalid_grant``.
  Or the service account's JWT-bearer grant (``grant_type=urn:ietf:params:oauth:grant-type:
  jwt-bearer``, ``assertion`` a JWT signed RS256 by the account's key: ``iss`` its
  ``client_email``, ``sub`` the user, ``scope``, ``aud`` the token endpoint, ``iat``/``exp``
  at most an hour apart): a bad signature, claim or lifetime is ``400 invalid_grant``, a
  user or scope the Workspace admin did not delegate ``401 unauthorized_client``.
- ``/v2`` with ``Authorization: Bearer``: ``POST /spaces``, ``GET``/``PATCH /spaces/{id}``
  (``updateMask``), ``POST /spaces/{id}:endActiveConference`` (``FAILED_PRECONDITION`` with no
  active conference); ``GET /conferenceRecords?filter=space.name = "spaces/{id}"``,
  ``.../participants``, ``.../participantSessions``, ``.../recordings``, ``.../transcripts``;
  ``GET /drive/{file}``: a recording's bytes to a token holder (its ``exportUri``). Errors are
  ``{error: {code, message, status}}``; there is no DELETE for spaces (404 as any unknown).
- ``GET /certs``: a JWKS with the key that signs the push OIDC tokens (RS256, ``kid``).
- ``push(...)``: a Pub/Sub push body (``message.data`` base64 of the event data, ``ce-*``
  attributes) with ``Authorization: Bearer <OIDC JWT>`` for the audience.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.loopback_app import LoopbackApp

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    503: "UNAVAILABLE",
}


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: Any


@dataclass
class FakeMeet:
    client_id: str = "client-1.apps.example"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    refresh_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    audience: str = "https://liveclass.example/api/v1/providers/meet/webhook"
    kid: str = "fake-google-key-1"
    calls: list[Call] = field(default_factory=list)
    token_requests: int = 0
    tokens: set[str] = field(default_factory=set)
    spaces: dict[str, dict[str, Any]] = field(default_factory=dict)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail_next: int = 0
    fail_status: int = 503
    retry_after: str | None = None
    url: str = ""

    # the service account with domain-wide delegation, and what its admin delegated
    account_email: str = "liveclass@project-1.iam.gserviceaccount.com"
    account_key_id: str = field(default_factory=lambda: secrets.token_hex(20))
    delegated_users: set[str] = field(default_factory=lambda: {"teacher@school.example"})
    delegated_scopes: frozenset[str] = frozenset(
        {
            "https://www.googleapis.com/auth/meetings.space.created",
            "https://www.googleapis.com/auth/meetings.space.readonly",
            "https://www.googleapis.com/auth/drive.readonly",
        }
    )
    assertions: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)  # Drive files by id

    def __post_init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.account_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._lock = threading.Lock()

    def service_account_key(self) -> dict[str, str]:
        """The account's JSON key, as Google's console hands it out."""
        pem = self.account_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        return {
            "type": "service_account",
            "project_id": "project-1",
            "private_key_id": self.account_key_id,
            "private_key": pem,
            "client_email": self.account_email,
            "client_id": "112233445566778899",
            "token_uri": f"{self.url}/token",
        }

    # tokens

    async def token(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))
        with self._lock:
            self.token_requests += 1
        if form.get("grant_type") == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return self._jwt_bearer(form)
        wanted = {
            "grant_type": "refresh_token",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
        }
        if form != wanted:
            return JSONResponse(
                {"error": "invalid_grant", "error_description": "Bad Request"}, status_code=400
            )
        value = f"ya29.{secrets.token_urlsafe(24)}"
        self.tokens.add(value)
        return JSONResponse({"access_token": value, "expires_in": 3599, "token_type": "Bearer"})

    def _jwt_bearer(self, form: dict[str, str]) -> Response:
        def refused(error: str, description: str, status: int = 400) -> Response:
            body = {"error": error, "error_description": description}
            return JSONResponse(body, status_code=status)

        assertion = form.get("assertion", "")
        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(
                assertion,
                self.account_key.public_key(),
                algorithms=["RS256"],
                audience=f"{self.url}/token",
                options={"require": ["iss", "aud", "iat", "exp", "scope"]},
            )
        except jwt.PyJWTError as exc:
            return refused("invalid_grant", f"Invalid JWT Signature or claims: {exc}")
        if header.get("kid") != self.account_key_id or claims["iss"] != self.account_email:
            return refused("invalid_grant", "Invalid JWT Signature.")
        if not 0 < claims["exp"] - claims["iat"] <= 3600:
            return refused("invalid_grant", "Invalid JWT: Token must be a short-lived token")
        scopes = set(str(claims["scope"]).split())
        if claims.get("sub") not in self.delegated_users or not scopes <= self.delegated_scopes:
            return refused(
                "unauthorized_client",
                "Client is unauthorized to retrieve access tokens using this method, or client "
                "not authorized for any of the scopes requested.",
                401,
            )
        self.assertions.append(claims)
        value = f"ya29.{secrets.token_urlsafe(24)}"
        self.tokens.add(value)
        return JSONResponse({"access_token": value, "expires_in": 3599, "token_type": "Bearer"})

    # the Meet API

    async def handle(self, request: Request) -> Response:
        path = "/" + request.path_params["path"]
        body = json.loads(await request.body() or b"null")
        self.calls.append(Call(request.method, path, dict(request.query_params), body))
        if self.fail_next > 0:
            self.fail_next -= 1
            headers = {"Retry-After": self.retry_after} if self.retry_after else {}
            return _error(self.fail_status, "injected failure", headers)
        auth = request.headers.get("authorization", "")
        if auth.removeprefix("Bearer ") not in self.tokens:
            return _error(401, "Request had invalid authentication credentials.")
        return self._route(request.method, path, dict(request.query_params), body)

    def _route(self, method: str, path: str, query: dict[str, str], body: Any) -> Response:
        parts = path.strip("/").split("/")
        if method == "POST" and path == "/spaces":
            return JSONResponse(self._create_space(body or {}))
        if parts[0] == "spaces" and len(parts) == 2:
            space_id, _, verb = parts[1].partition(":")
            space = self.spaces.get(space_id)
            if space is None:
                return _error(404, "Requested entity was not found.")
            if method == "GET" and not verb:
                return JSONResponse(space)
            if method == "PATCH" and not verb:
                space["config"].update((body or {}).get("config", {}))
                return JSONResponse(space)
            if method == "POST" and verb == "endActiveConference":
                return self._end(space)
        if method == "GET" and path == "/conferenceRecords":
            return self._list_records(query.get("filter", ""))
        if method == "GET" and parts[0] == "conferenceRecords":
            return self._record_child(parts)
        return _error(404, f"Method not found: {method} {path}")

    def _create_space(self, body: dict[str, Any]) -> dict[str, Any]:
        space_id = secrets.token_urlsafe(9)
        code = "-".join(secrets.token_hex(2)[:3] for _ in range(3))
        config = {"accessType": "TRUSTED", "entryPointAccess": "ALL", **body.get("config", {})}
        space = {
            "name": f"spaces/{space_id}",
            "meetingUri": f"https://meet.google.com/{code}",
            "meetingCode": code,
            "config": config,
        }
        self.spaces[space_id] = space
        return space

    def _end(self, space: dict[str, Any]) -> Response:
        active = space.pop("activeConference", None)
        if active is None:
            return _error(400, "No active conference.", status_name="FAILED_PRECONDITION")
        record = self.records[active["conferenceRecord"].removeprefix("conferenceRecords/")]
        record["endTime"] = _iso(time.time())
        return JSONResponse({})

    def _list_records(self, filter_: str) -> Response:
        found = [
            {k: v for k, v in r.items() if not k.startswith("_")}
            for r in self.records.values()
            if f'space.name = "{r["space"]}"' == filter_
        ]
        return JSONResponse({"conferenceRecords": found})

    def _record_child(self, parts: list[str]) -> Response:
        record = self.records.get(parts[1])
        if record is None:
            return _error(404, "Requested entity was not found.")
        if len(parts) == 3 and parts[2] == "participants":
            return JSONResponse({"participants": [p["resource"] for p in record["_people"]]})
        if len(parts) == 3 and parts[2] == "recordings":
            return JSONResponse({"recordings": record["_recordings"]})
        if len(parts) == 3 and parts[2] == "transcripts":
            return JSONResponse({"transcripts": record["_transcripts"]})
        if len(parts) == 5 and parts[4] == "participantSessions":
            name = "/".join(parts[:4])
            (person,) = [p for p in record["_people"] if p["resource"]["name"] == name]
            return JSONResponse({"participantSessions": person["sessions"]})
        return _error(404, "Requested entity was not found.")

    # what happens in a conference (the test drives it)

    def start_conference(self, space_id: str, at: float) -> str:
        record_id = secrets.token_hex(6)
        self.records[record_id] = {
            "name": f"conferenceRecords/{record_id}",
            "startTime": _iso(at),
            "space": f"spaces/{space_id}",
            "_people": [],
            "_recordings": [],
            "_transcripts": [],
        }
        self.spaces[space_id]["activeConference"] = {
            "conferenceRecord": f"conferenceRecords/{record_id}"
        }
        return record_id

    def attend(self, record_id: str, display_name: str, start: float, end: float | None) -> str:
        """A signed-in participant's one session; answers the session's name."""
        record = self.records[record_id]
        person_id = f"p{len(record['_people']) + 1}"
        name = f"conferenceRecords/{record_id}/participants/{person_id}"
        session: dict[str, Any] = {
            "name": f"{name}/participantSessions/s1",
            "startTime": _iso(start),
        }
        if end is not None:
            session["endTime"] = _iso(end)
        resource = {
            "name": name,
            "signedinUser": {"user": f"users/{person_id}", "displayName": display_name},
            "earliestStartTime": _iso(start),
        }
        record["_people"].append({"resource": resource, "sessions": [session]})
        return str(session["name"])

    def record_file(self, record_id: str, content: bytes, *, at: float) -> str:
        """A recording of the conference whose file Meet has written to the organizer's
        Drive (state FILE_GENERATED, ``driveDestination``); answers the recording's name."""
        record = self.records[record_id]
        file_id = secrets.token_urlsafe(12)
        self.files[file_id] = content
        name = f"conferenceRecords/{record_id}/recordings/{len(record['_recordings']) + 1}"
        record["_recordings"].append(
            {
                "name": name,
                "state": "FILE_GENERATED",
                "startTime": _iso(at - 60),
                "endTime": _iso(at),
                "driveDestination": {"file": file_id, "exportUri": f"{self.url}/drive/{file_id}"},
            }
        )
        return name

    def record_transcript(self, record_id: str, *, at: float) -> tuple[str, str]:
        """A transcript Meet has written as a Google Doc (FILE_GENERATED,
        ``docsDestination``); answers its name and the Doc's link."""
        record = self.records[record_id]
        document = secrets.token_urlsafe(12)
        link = f"https://docs.google.com/document/d/{document}/edit"
        name = f"conferenceRecords/{record_id}/transcripts/{len(record['_transcripts']) + 1}"
        record["_transcripts"].append(
            {
                "name": name,
                "state": "FILE_GENERATED",
                "startTime": _iso(at - 60),
                "endTime": _iso(at),
                "docsDestination": {"document": document, "exportUri": link},
            }
        )
        return name, link

    async def drive_file(self, request: Request) -> Response:
        """The file's bytes, to the holder of a token (Drive's download of ``exportUri``)."""
        auth = request.headers.get("authorization", "")
        if auth.removeprefix("Bearer ") not in self.tokens:
            return _error(401, "Request had invalid authentication credentials.")
        content = self.files.get(request.path_params["file_id"])
        if content is None:
            return _error(404, "File not found.")
        return Response(content, media_type="video/mp4")

    # Pub/Sub push of Workspace Events

    def jwks(self, request: Request) -> Response:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        public.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        return JSONResponse({"keys": [public]})

    def oidc_token(
        self, *, audience: str | None = None, issued: float | None = None, key: Any = None
    ) -> str:
        now = time.time() if issued is None else issued
        claims = {
            "iss": "https://accounts.google.com",
            "aud": audience or self.audience,
            "azp": "1234567890",
            "email": "push@project.iam.gserviceaccount.com",
            "email_verified": True,
            "iat": int(now),
            "exp": int(now) + 3600,
            "sub": "1234567890",
        }
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": self.kid})

    def push(
        self,
        event_type: str,
        space_id: str,
        data: dict[str, Any],
        *,
        at: float,
        token: str | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        event_id = str(uuid.uuid4())
        attributes = {
            "ce-id": event_id,
            "ce-specversion": "1.0",
            "ce-source": "//workspaceevents.googleapis.com/subscriptions/sub-1",
            "ce-subject": f"//meet.googleapis.com/spaces/{space_id}",
            "ce-type": event_type,
            "ce-time": _iso(at),
            "ce-datacontenttype": "application/json",
        }
        message = {
            "attributes": attributes,
            "data": base64.b64encode(json.dumps(data).encode()).decode(),
            "messageId": str(int(time.time() * 1000)),
            "publishTime": _iso(time.time()),
        }
        body = json.dumps({"message": message, "subscription": "projects/p/subscriptions/s"})
        headers = {
            "Authorization": f"Bearer {token or self.oidc_token()}",
            "Content-Type": "application/json",
        }
        return body.encode(), headers


def _iso(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + f".{int(at % 1 * 1e6):06d}Z"


def _error(
    status: int, message: str, headers: dict[str, str] | None = None, *, status_name: str = ""
) -> Response:
    name = status_name or STATUS_NAMES.get(status, "UNKNOWN")
    return JSONResponse(
        {"error": {"code": status, "message": message, "status": name}},
        status_code=status,
        headers=headers,
    )


@contextmanager
def serve_fake_meet() -> Iterator[FakeMeet]:
    fake = FakeMeet()
    app = Starlette(
        routes=[
            Route("/token", fake.token, methods=["POST"]),
            Route("/certs", fake.jwks, methods=["GET"]),
            Route("/drive/{file_id}", fake.drive_file, methods=["GET"]),
            Route("/v2/{path:path}", fake.handle, methods=["GET", "POST", "PATCH", "DELETE"]),
        ]
    )
    server = LoopbackApp(app, "fake Google Meet")
    fake.url = server.url
    server.start()
    try:
        yield fake
    finally:
        server.stop()
