"""Jitsi as a hosted provider, self-hosted (prosody token authentication) or Jitsi as a
Service (8x8 JaaS). Jitsi has no room API, so most steps call nothing:

- create: a room name made from the class (title and session id); the room comes to be
  when the first person opens their link. update: the same room (its name does not follow
  a new title, so links already handed out keep working).
- join: a JWT per person, ``moderator`` for the host and co-host, living until an hour
  after the class's end (at most a day), and the link carrying it.
- end / delete: nothing to call; once the class is over no new token is handed out and
  those handed out expire (a room cannot be closed from outside).
- recording: started by a moderator in the Jitsi client (JaaS: ``context.features.
  recording`` in a moderator's token when the class is recorded); no REST call exists, so
  start/stop raise ``NotSupported``.
- webhooks: JaaS only, ``X-Jaas-Signature`` v1: ROOM_CREATED/DESTROYED -> meeting
  started/ended, PARTICIPANT_JOINED/LEFT with ``context.user.id`` of the person's token,
  RECORDING_UPLOADED -> recording ready from ``data.preAuthenticatedLink`` (kept 24 hours).
  Self-hosted Jitsi sends no webhooks: a delivery to it is refused.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from liveclass.config import Settings
from liveclass.domain.errors import Invalid
from liveclass.domain.roles import Role
from liveclass.providers.errors import ProviderError, ProviderUnavailable, WebhookRejected
from liveclass.providers.hosted import (
    Attendee,
    Challenge,
    EventKind,
    JoinGrant,
    Meeting,
    MeetingSpec,
    ProviderEvent,
    RecordingFile,
    header,
    token_meeting_data,
    token_seconds,
)
from liveclass.providers.jitsi_tokens import (
    JAAS_DOMAIN,
    MAX_TTL,
    PARTICIPANT_JOINED,
    PARTICIPANT_LEFT,
    RECORDING_UPLOADED,
    ROOM_CREATED,
    ROOM_DESTROYED,
    SIGNATURE_HEADER,
    TOLERANCE,
    JaasFeatures,
    JaasWebhookEvent,
    JitsiUser,
    jaas_join_link,
    jaas_kid,
    jaas_token,
    jitsi_join_link,
    jitsi_token,
    room_name,
    verify_jaas_webhook,
)
from liveclass.providers.json_fields import submessage, text
from liveclass.providers.unsupported import NotSupported

NAME = "jitsi"
PROVIDER = "Jitsi"
# Even a token asked for long after the planned end lets its holder in for this long.
MIN_TTL = 15 * 60
DEFAULT_TIMEOUT = 30.0
_MODERATORS = frozenset({Role.HOST, Role.CO_HOST})

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class SelfHostedJitsi:
    """A Jitsi Meet on ``domain`` whose prosody checks HS256 tokens of ``app_id``."""

    domain: str
    app_id: str
    app_secret: str
    audience: str = "jitsi"

    def token(self, room: str, user: JitsiUser, ttl: int, _features: JaasFeatures) -> str:
        return jitsi_token(
            app_id=self.app_id,
            app_secret=self.app_secret,
            domain=self.domain,
            room=room,
            user=user,
            ttl_seconds=ttl,
            audience=self.audience,
        )

    def link(self, room: str, token: str = "") -> str:
        return (
            jitsi_join_link(self.domain, room, token) if token else f"https://{self.domain}/{room}"
        )


@dataclass(frozen=True, slots=True)
class JaasAccount:
    """A JaaS AppID, the key registered for it in the 8x8 console, and the webhook
    endpoint's secret."""

    app_id: str
    key_id: str
    private_key: str
    webhook_secret: str = ""

    def __post_init__(self) -> None:
        jaas_kid(self.app_id, self.key_id)  # a mistyped AppID or key id fails at start

    def token(self, room: str, user: JitsiUser, ttl: int, features: JaasFeatures) -> str:
        return jaas_token(
            app_id=self.app_id,
            key_id=self.key_id,
            private_key=self.private_key,
            room=room,
            user=user,
            ttl_seconds=ttl,
            features=features,
        )

    def link(self, room: str, token: str = "") -> str:
        if token:
            return jaas_join_link(self.app_id, room, token)
        return f"https://{JAAS_DOMAIN}/{self.app_id}/{room}"


Deployment = SelfHostedJitsi | JaasAccount


class JitsiProvider:
    """The ``HostedProvider`` for one Jitsi deployment."""

    name = NAME

    def __init__(
        self,
        deployment: Deployment,
        *,
        http: httpx.AsyncClient | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Clock = time.time,
        webhook_tolerance: float = TOLERANCE,
    ) -> None:
        self.deployment = deployment
        self._http = http or httpx.AsyncClient(timeout=httpx.Timeout(timeout))
        self._owns_http = http is None
        self._timeout = httpx.Timeout(timeout)
        self._clock = clock
        self._tolerance = webhook_tolerance

    @classmethod
    def from_settings(cls, settings: Settings) -> JitsiProvider:
        """Jitsi as a Service when ``JAAS_*`` are set, else self-hosted ``JITSI_*`` (all
        there: checked by ``Settings.hosted_configured``)."""
        if settings.jaas_app_id:
            key, webhook = settings.jaas_private_key, settings.jaas_webhook_secret
            assert settings.jaas_key_id and key and webhook
            return cls.jaas(
                app_id=settings.jaas_app_id,
                key_id=settings.jaas_key_id,
                private_key=key.get_secret_value(),
                webhook_secret=webhook.get_secret_value(),
            )
        secret = settings.jitsi_app_secret
        assert settings.jitsi_domain and settings.jitsi_app_id and secret
        return cls.self_hosted(
            domain=settings.jitsi_domain,
            app_id=settings.jitsi_app_id,
            app_secret=secret.get_secret_value(),
        )

    @classmethod
    def self_hosted(
        cls, *, domain: str, app_id: str, app_secret: str, audience: str = "jitsi", **kw: Any
    ) -> JitsiProvider:
        """From ``JITSI_DOMAIN``, ``JITSI_APP_ID``, ``JITSI_APP_SECRET``."""
        return cls(SelfHostedJitsi(domain, app_id, app_secret, audience), **kw)

    @classmethod
    def jaas(
        cls, *, app_id: str, key_id: str, private_key: str, webhook_secret: str, **kw: Any
    ) -> JitsiProvider:
        """From ``JAAS_APP_ID``, ``JAAS_KEY_ID``, ``JAAS_PRIVATE_KEY``, ``JAAS_WEBHOOK_SECRET``."""
        return cls(JaasAccount(app_id, key_id, private_key, webhook_secret), **kw)

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    # rooms: nothing to call

    async def create(self, spec: MeetingSpec) -> Meeting:
        room = class_room(spec)
        return Meeting(NAME, room, self.deployment.link(room), token_meeting_data(spec))

    async def update(self, meeting: Meeting, spec: MeetingSpec) -> Meeting:
        return Meeting(NAME, meeting.meeting_id, meeting.url, token_meeting_data(spec))

    async def end(self, meeting: Meeting) -> None:
        """Nothing to call: Jitsi ends a room when its last person leaves."""

    async def delete(self, meeting: Meeting) -> None:
        """Nothing to call: a room exists only while people are in it."""

    # joining

    async def join(self, meeting: Meeting, who: Attendee) -> JoinGrant:
        moderator = who.role in _MODERATORS
        user = JitsiUser(id=who.user_id, name=who.name, moderator=moderator)
        features = JaasFeatures(recording=moderator and bool(meeting.data.get("recorded")))
        ttl = self._ttl(meeting)
        token = self.deployment.token(meeting.meeting_id, user, ttl, features)
        url = self.deployment.link(meeting.meeting_id, token)
        expires = int(self._clock()) + ttl
        return JoinGrant(url=url, token=token, expires_at=expires, extra={"moderator": moderator})

    def _ttl(self, meeting: Meeting) -> int:
        ends_at = meeting.data.get("ends_at")
        return token_seconds(ends_at, self._clock(), shortest=MIN_TTL, longest=MAX_TTL)

    # recording

    async def start_recording(self, meeting: Meeting) -> None:
        raise NotSupported(PROVIDER, "start a recording", "a moderator starts it in Jitsi")

    async def stop_recording(self, meeting: Meeting) -> None:
        raise NotSupported(PROVIDER, "stop a recording", "a moderator stops it in Jitsi")

    async def download(self, recording: RecordingFile) -> AsyncIterator[bytes]:
        """The file behind JaaS's pre-authenticated link."""
        written = 0
        try:
            async with self._http.stream(
                "GET",
                recording.download_url,
                headers=dict(recording.headers),
                timeout=self._timeout,
                follow_redirects=True,
            ) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise _download_refusal(response)
                async for chunk in response.aiter_bytes():
                    written += len(chunk)
                    yield chunk
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(PROVIDER, f"download: {type(exc).__name__}") from exc
        if recording.size_bytes and written != recording.size_bytes:
            raise ProviderUnavailable(
                PROVIDER, f"the download gave {written} of {recording.size_bytes} bytes"
            )

    # webhooks

    def read_webhook(
        self, headers: Mapping[str, str], body: bytes
    ) -> list[ProviderEvent] | Challenge:
        account = self.deployment
        if not isinstance(account, JaasAccount) or not account.webhook_secret:
            raise WebhookRejected(PROVIDER, "self-hosted Jitsi sends no webhooks")
        event = verify_jaas_webhook(
            body=body,
            signature_header=header(headers, SIGNATURE_HEADER),
            secret=account.webhook_secret,
            tolerance=self._tolerance,
        )
        return events_of(JaasWebhookEvent.parse(event), submessage(event, "data"))


def events_of(event: JaasWebhookEvent, data: Mapping[str, Any]) -> list[ProviderEvent]:
    """The liveclass events in one (verified) JaaS event; none for those it ignores."""
    at = datetime.datetime.fromtimestamp(event.timestamp / 1000, datetime.UTC)
    kinds = {
        ROOM_CREATED: EventKind.MEETING_STARTED,
        ROOM_DESTROYED: EventKind.MEETING_ENDED,
        PARTICIPANT_JOINED: EventKind.PARTICIPANT_JOINED,
        PARTICIPANT_LEFT: EventKind.PARTICIPANT_LEFT,
        RECORDING_UPLOADED: EventKind.RECORDING_READY,
    }
    kind = kinds.get(event.event_type)
    if kind is None or not event.idempotency_key:
        return []
    if kind is EventKind.RECORDING_READY:
        if not event.recording_link:
            return []
        recording = RecordingFile(event.idempotency_key, event.recording_link)
        return [ProviderEvent(kind, event.idempotency_key, event.room, at, recording=recording)]
    if kind in (EventKind.PARTICIPANT_JOINED, EventKind.PARTICIPANT_LEFT):
        # the occupant's JID names this one attendance; the user id is the token's
        connection = text(data, "participantJid") or text(data, "participantId") or None
        return [
            ProviderEvent(
                kind,
                event.idempotency_key,
                event.room,
                at,
                user_id=event.participant_id or None,
                connection=connection,
            )
        ]
    return [ProviderEvent(kind, event.idempotency_key, event.room, at)]


def class_room(spec: MeetingSpec) -> str:
    """A room name of the title (readable in the Jitsi client) and the session (unique)."""
    try:
        title = room_name(spec.title)[:80].rstrip("-")
    except Invalid:
        title = ""
    suffix = spec.session_id.hex[:12]
    return f"{title}-{suffix}" if title else f"class-{suffix}"


def _download_refusal(response: httpx.Response) -> ProviderError | ProviderUnavailable:
    status = response.status_code
    message = response.text[:200].strip() or response.reason_phrase
    if status >= 500 or status == 429:
        return ProviderUnavailable(PROVIDER, f"download: {status}: {message}")
    return ProviderError(PROVIDER, status, str(status), message)
