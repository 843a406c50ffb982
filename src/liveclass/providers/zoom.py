"""Zoom as a hosted provider: each class is a scheduled Zoom meeting of one Zoom account
(Server-to-Server OAuth), its attendance and recordings read from Zoom's webhooks.

- create: a scheduled meeting (``type`` 2) with the class's topic, start and duration, its
  waiting room, a generated passcode, cloud auto-recording when the class is recorded, and
  registration with automatic approval (see "who is who" below).
- update: PATCH of the same fields (the passcode is kept). end: ``PUT .../status`` ``end``.
  delete: ``DELETE``; a meeting Zoom no longer has counts as ended or deleted.
- join: the host gets the meeting's ``start_url``, read afresh each time because Zoom lets
  it live only two hours and it signs in as the account's user; everyone else gets their
  own registrant ``join_url``, never the host's. A co-host joins as a participant and is
  made co-host by the host in the Zoom client (Zoom's API names co-hosts only as licensed
  users of the account, ``alternative_hosts``).
- recording: in-meeting controls, ``PATCH /live_meetings/{id}/events`` with ``method``
  ``recording.start`` / ``recording.stop``; Zoom accepts them only while the meeting is live
  (a refusal otherwise). The file comes with ``recording.completed``: its MP4 is fetched
  with the webhook's ``download_token`` (valid 24 hours) and, once that has expired, with
  the account's own token (scope ``recording:read``).
- webhooks: ``x-zm-signature`` v0 with a fresh ``x-zm-request-timestamp``;
  ``endpoint.url_validation`` answered as Zoom asks.

Who is who: a Zoom join link cannot carry an identifier of ours (``customer_key`` is set
only by the Meeting SDK's ``join``, and ``uname`` is a display name the person can change).
Zoom's own way for an app to know its attendees is registration: each attendee is
registered with an address liveclass makes from their user id (``lc-<base32 of the
id>@<attendee domain>``, never mailed: Zoom's confirmation mails are turned off), gets a
join link of their own, and Zoom names that address in ``participant_joined``/``_left``.
A ``customer_key`` (a Meeting SDK integration setting it to the user id) is read too. The
host, who starts the meeting signed in as the account's Zoom user, is reported with no
user id: Zoom names them by its own user id (the meeting's ``host_id``) only.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import secrets
import string
import time
from collections.abc import AsyncIterator, Awaitable, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from liveclass.config import Settings
from liveclass.domain.errors import Invalid
from liveclass.domain.roles import Role
from liveclass.providers.errors import ProviderError, ProviderUnavailable
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
)
from liveclass.providers.json_fields import text
from liveclass.providers.transport import json_object
from liveclass.providers.zoom_api import (
    DEFAULT_TIMEOUT,
    MAX_PASSWORD,
    MAX_TOPIC,
    PROVIDER,
    ZOOM_API_URL,
    ZOOM_OAUTH_URL,
    AutoRecording,
    MeetingRecordings,
    ZoomClient,
    ZoomMeeting,
    ZoomTokenSource,
)
from liveclass.providers.zoom_api import MeetingSpec as ZoomMeetingSpec
from liveclass.providers.zoom_api import RecordingFile as ZoomRecordingFile
from liveclass.providers.zoom_webhooks import (
    MEETING_ENDED,
    MEETING_STARTED,
    PARTICIPANT_JOINED,
    PARTICIPANT_LEFT,
    RECORDING_COMPLETED,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    TOLERANCE,
    URL_VALIDATION,
    ZoomParticipant,
    ZoomWebhookEvent,
    url_validation_answer,
    verify_webhook,
)

NAME = "zoom"
# Addresses Zoom is given for attendees; ".invalid" is reserved (RFC 2606), so nothing can
# ever be delivered there. Operators may give their own domain.
DEFAULT_ATTENDEE_DOMAIN = "attendees.liveclass.invalid"
ATTENDEE_PREFIX = "lc-"
MAX_EMAIL_LOCAL = 64  # RFC 5321
# Zoom says a start_url expires two hours after it is read.
START_URL_LIFETIME = 2 * 3600
# Zoom's meeting-not-found code, for a meeting deleted on Zoom's side already.
MEETING_NOT_FOUND = "3001"
# The recording kinds, in the order liveclass prefers one as "the" class recording.
_PREFERRED_VIEWS = (
    "shared_screen_with_speaker_view",
    "shared_screen_with_gallery_view",
    "speaker_view",
    "gallery_view",
    "active_speaker",
    "shared_screen",
)
_PASSCODE_ALPHABET = string.ascii_letters + string.digits


class ZoomProvider:
    """The ``HostedProvider`` for one Zoom account."""

    name = NAME

    def __init__(
        self,
        client: ZoomClient,
        *,
        webhook_secret: str,
        http: httpx.AsyncClient,
        owns_http: bool = False,
        host_user: str = "me",
        attendee_domain: str = DEFAULT_ATTENDEE_DOMAIN,
        timeout: float = DEFAULT_TIMEOUT,
        webhook_tolerance: float = TOLERANCE,
    ) -> None:
        self.client = client
        self._webhook_secret = webhook_secret
        self._http = http
        self._owns_http = owns_http
        self._host_user = host_user
        self.attendee_domain = attendee_domain.lower()
        self._timeout = httpx.Timeout(timeout)
        self._tolerance = webhook_tolerance

    @classmethod
    def from_settings(cls, settings: Settings) -> ZoomProvider:
        """The ``ZOOM_*`` settings (all there: checked by ``Settings.hosted_configured``)."""
        secret, webhook = settings.zoom_client_secret, settings.zoom_webhook_secret
        assert settings.zoom_account_id and settings.zoom_client_id and secret and webhook
        return cls.from_values(
            account_id=settings.zoom_account_id,
            client_id=settings.zoom_client_id,
            client_secret=secret.get_secret_value(),
            webhook_secret=webhook.get_secret_value(),
            api_url=settings.zoom_api_url,
            oauth_url=settings.zoom_oauth_url,
        )

    @classmethod
    def from_values(
        cls,
        *,
        account_id: str,
        client_id: str,
        client_secret: str,
        webhook_secret: str,
        api_url: str = ZOOM_API_URL,
        oauth_url: str = ZOOM_OAUTH_URL,
        http: httpx.AsyncClient | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        host_user: str = "me",
        attendee_domain: str = DEFAULT_ATTENDEE_DOMAIN,
    ) -> ZoomProvider:
        """From the settings (``ZOOM_ACCOUNT_ID``, ``ZOOM_CLIENT_ID``, ...). Without ``http``
        the provider makes its own client and closes it in ``aclose``."""
        owned = http is None
        client_http = http or httpx.AsyncClient(timeout=httpx.Timeout(timeout))
        tokens = ZoomTokenSource(
            oauth_url,
            account_id=account_id,
            client_id=client_id,
            client_secret=client_secret,
            http=client_http,
            timeout=timeout,
        )
        client = ZoomClient(api_url, tokens=tokens, http=client_http, timeout=timeout)
        return cls(
            client,
            webhook_secret=webhook_secret,
            http=client_http,
            owns_http=owned,
            host_user=host_user,
            attendee_domain=attendee_domain,
            timeout=timeout,
        )

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    # meetings

    async def create(self, spec: MeetingSpec) -> Meeting:
        passcode = new_passcode()
        path = f"/users/{quote(self._host_user, safe='@')}/meetings"
        response = await self.client.request("POST", path, body=meeting_body(spec, passcode))
        made = ZoomMeeting.parse(json_object(PROVIDER, response, "create meeting"))
        if not made.id or not made.join_url:
            raise ProviderUnavailable(PROVIDER, "create meeting answered no id or join_url")
        data = {"uuid": made.uuid, "host_id": made.host_id, "password": made.password or passcode}
        return Meeting(NAME, str(made.id), made.join_url, data)

    async def update(self, meeting: Meeting, spec: MeetingSpec) -> Meeting:
        passcode = text(meeting.data, "password") or new_passcode()
        body = meeting_body(spec, passcode)
        await self.client.request("PATCH", f"/meetings/{_number(meeting)}", body=body)
        return Meeting(
            NAME, meeting.meeting_id, meeting.url, {**meeting.data, "password": passcode}
        )

    async def end(self, meeting: Meeting) -> None:
        await _gone_is_done(
            self.client.request(
                "PUT", f"/meetings/{_number(meeting)}/status", body={"action": "end"}
            )
        )

    async def delete(self, meeting: Meeting) -> None:
        await _gone_is_done(self.client.request("DELETE", f"/meetings/{_number(meeting)}"))

    # joining

    async def join(self, meeting: Meeting, who: Attendee) -> JoinGrant:
        if who.role is Role.HOST:
            return await self._host_grant(meeting)
        return await self._registrant_grant(meeting, who)

    async def _host_grant(self, meeting: Meeting) -> JoinGrant:
        response = await self.client.request("GET", f"/meetings/{_number(meeting)}")
        start_url = ZoomMeeting.parse(json_object(PROVIDER, response, "get meeting")).start_url
        if not start_url:
            raise ProviderUnavailable(PROVIDER, "the meeting has no start_url")
        expires = int(time.time()) + START_URL_LIFETIME
        return JoinGrant(url=start_url, expires_at=expires, extra={"zoom_role": "host"})

    async def _registrant_grant(self, meeting: Meeting, who: Attendee) -> JoinGrant:
        first, last = _name_parts(who.name)
        body: dict[str, Any] = {
            "email": attendee_email(who.user_id, self.attendee_domain),
            "first_name": first,
            "auto_approve": True,
        }
        if last:
            body["last_name"] = last
        path = f"/meetings/{_number(meeting)}/registrants"
        response = await self.client.request("POST", path, body=body)
        reply = json_object(PROVIDER, response, "add registrant")
        join_url = text(reply, "join_url")
        if not join_url:
            raise ProviderUnavailable(PROVIDER, "add registrant answered no join_url")
        extra = {"zoom_role": "attendee", "registrant_id": text(reply, "registrant_id")}
        return JoinGrant(url=join_url, extra=extra)

    # recording

    async def start_recording(self, meeting: Meeting) -> None:
        await self._recording_control(meeting, "recording.start")

    async def stop_recording(self, meeting: Meeting) -> None:
        await self._recording_control(meeting, "recording.stop")

    async def _recording_control(self, meeting: Meeting, method: str) -> None:
        path = f"/live_meetings/{_number(meeting)}/events"
        await self.client.request("PATCH", path, body={"method": method})

    async def download(self, recording: RecordingFile) -> AsyncIterator[bytes]:
        """The file, with the webhook's ``download_token`` while Zoom still takes it, then
        with the account's token. A file of another size than Zoom said is unavailable
        (the caller retries from the start)."""
        written = 0
        token = download_token(recording.headers)
        if token:
            try:
                async for chunk in self._stream(recording.download_url, {"access_token": token}):
                    written += len(chunk)
                    yield chunk
            except ProviderError as exc:
                # only a refusal before the first byte can be tried again another way
                if exc.provider_status != 401 or written:
                    raise
            else:
                _check_size(recording, written)
                return
        bearer = await self.client.tokens.token()
        headers = {"Authorization": f"Bearer {bearer}"}
        async for chunk in self._stream(recording.download_url, {}, headers):
            written += len(chunk)
            yield chunk
        _check_size(recording, written)

    async def _stream(
        self, url: str, params: Mapping[str, str], headers: Mapping[str, str] | None = None
    ) -> AsyncIterator[bytes]:
        try:
            # Zoom redirects a download_url to the file's storage
            async with self._http.stream(
                "GET",
                url,
                params=dict(params),
                headers=dict(headers or {}),
                timeout=self._timeout,
                follow_redirects=True,
            ) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise _download_refusal(response)
                async for chunk in response.aiter_bytes():
                    yield chunk
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(PROVIDER, f"download: {type(exc).__name__}") from exc

    # webhooks

    def read_webhook(
        self, headers: Mapping[str, str], body: bytes
    ) -> list[ProviderEvent] | Challenge:
        event = verify_webhook(
            body=body,
            signature_header=header(headers, SIGNATURE_HEADER),
            timestamp_header=header(headers, TIMESTAMP_HEADER),
            secret=self._webhook_secret,
            tolerance=self._tolerance,
        )
        if text(event, "event") == URL_VALIDATION:
            return Challenge(url_validation_answer(event, self._webhook_secret))
        return self.events_of(ZoomWebhookEvent.parse(event))

    def events_of(self, event: ZoomWebhookEvent) -> list[ProviderEvent]:
        """The liveclass events in one (verified) Zoom event; none for events it ignores."""
        meeting_id = str(event.meeting_id)
        fallback = _from_ms(event.event_ts)
        if event.event == MEETING_STARTED:
            at = _instant(event.start_time, fallback)
            return [ProviderEvent(EventKind.MEETING_STARTED, event.key, meeting_id, at)]
        if event.event == MEETING_ENDED:
            at = _instant(event.end_time, fallback)
            return [ProviderEvent(EventKind.MEETING_ENDED, event.key, meeting_id, at)]
        if event.event in (PARTICIPANT_JOINED, PARTICIPANT_LEFT) and event.participant:
            return [self._attendance(event, event.participant, fallback)]
        if event.event == RECORDING_COMPLETED and event.recordings is not None:
            return [_recording_event(event, event.recordings, fallback)]
        return []

    def _attendance(
        self, event: ZoomWebhookEvent, who: ZoomParticipant, fallback: datetime.datetime
    ) -> ProviderEvent:
        kind = (
            EventKind.PARTICIPANT_JOINED
            if event.event == PARTICIPANT_JOINED
            else EventKind.PARTICIPANT_LEFT
        )
        return ProviderEvent(
            kind,
            event.key,
            str(event.meeting_id),
            _instant(who.at, fallback),
            user_id=self.user_of(who),
            # Zoom's user_id is this one attendance's; participant_uuid outlives a rejoin
            connection=who.user_id or who.participant_uuid or None,
        )

    def user_of(self, who: ZoomParticipant) -> str | None:
        """The platform user id Zoom was given for this person, if it was given one."""
        return attendee_user_id(who.email, self.attendee_domain) or who.customer_key or None


# the meeting body


def meeting_body(spec: MeetingSpec, passcode: str) -> dict[str, Any]:
    """The create/update body: the class's fields, and registration without Zoom's mails."""
    starts_at = spec.starts_at
    if starts_at.tzinfo is None:
        # liveclass keeps times in UTC; a naive one from the database is UTC
        starts_at = starts_at.replace(tzinfo=datetime.UTC)
    zoom_spec = ZoomMeetingSpec(
        topic=spec.title.strip()[:MAX_TOPIC] or "Class",
        start_time=starts_at,
        duration_minutes=spec.duration_minutes,
        password=passcode,
        waiting_room=spec.waiting_room,
        join_before_host=False,
        auto_recording=AutoRecording.CLOUD if spec.recorded else AutoRecording.NONE,
    )
    body = zoom_spec.to_body()
    body["settings"].update(
        {
            # 0: registration required, approved at once
            "approval_type": 0,
            "registrants_confirmation_email": False,
            "registrants_email_notification": False,
        }
    )
    return body


def new_passcode() -> str:
    return "".join(secrets.choice(_PASSCODE_ALPHABET) for _ in range(MAX_PASSWORD))


# who is who


def attendee_email(user_id: str, domain: str) -> str:
    """The address an attendee is registered with, from which their user id is read back.
    Base32 because Zoom may change the case of an address; no padding, no separators."""
    encoded = base64.b32encode(user_id.encode()).decode().rstrip("=").lower()
    local = ATTENDEE_PREFIX + encoded
    if not user_id or len(local) > MAX_EMAIL_LOCAL:
        raise Invalid(
            "A Zoom attendee's user id must be 1 to 38 bytes to be registered.", field="user_id"
        )
    return f"{local}@{domain.lower()}"


def attendee_user_id(email: str, domain: str) -> str | None:
    local, _, host = email.strip().lower().rpartition("@")
    if host != domain.lower() or not local.startswith(ATTENDEE_PREFIX):
        return None
    encoded = local.removeprefix(ATTENDEE_PREFIX).upper()
    try:
        decoded = base64.b32decode(encoded + "=" * (-len(encoded) % 8))
        return decoded.decode() or None
    except (binascii.Error, UnicodeDecodeError):
        return None


def _name_parts(name: str) -> tuple[str, str]:
    """Zoom's first_name (required) and last_name, each at most 64 characters."""
    cleaned = " ".join(name.split()) or "Guest"
    first, _, last = cleaned.partition(" ")
    return first[:64], last[:64]


# recordings


def download_token(headers: Mapping[str, str]) -> str:
    scheme, _, value = headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme == "Bearer" else ""


def _recording_event(
    event: ZoomWebhookEvent, recordings: MeetingRecordings, fallback: datetime.datetime
) -> ProviderEvent:
    meeting_id = str(event.meeting_id)
    video = _class_video(recordings.videos())
    if video is None:
        return ProviderEvent(
            EventKind.RECORDING_FAILED,
            event.key,
            meeting_id,
            fallback,
            reason="Zoom's cloud recording has no finished MP4 file",
        )
    headers = {"Authorization": f"Bearer {event.download_token}"} if event.download_token else {}
    recording = RecordingFile(
        recording_id=video.id,
        download_url=video.download_url,
        headers=headers,
        size_bytes=video.file_size or None,
        file_format="mp4",
        duration_ms=_duration_ms(video),
    )
    at = _instant(video.recording_end, fallback)
    return ProviderEvent(EventKind.RECORDING_READY, event.key, meeting_id, at, recording=recording)


def _class_video(videos: tuple[ZoomRecordingFile, ...]) -> ZoomRecordingFile | None:
    for view in _PREFERRED_VIEWS:
        for video in videos:
            if video.recording_type == view:
                return video
    return videos[0] if videos else None


def _duration_ms(video: ZoomRecordingFile) -> int | None:
    start, end = _parse_instant(video.recording_start), _parse_instant(video.recording_end)
    if start is None or end is None or end < start:
        return None
    return int((end - start).total_seconds() * 1000)


def _check_size(recording: RecordingFile, written: int) -> None:
    if recording.size_bytes and written != recording.size_bytes:
        raise ProviderUnavailable(
            PROVIDER, f"the recording download gave {written} of {recording.size_bytes} bytes"
        )


def _download_refusal(response: httpx.Response) -> ProviderError | ProviderUnavailable:
    status = response.status_code
    try:
        error = response.json()
    except ValueError:
        error = {}
    error = error if isinstance(error, dict) else {}
    code = text(error, "code") or str(status)
    message = text(error, "message") or response.text[:200].strip()
    if status >= 500 or status == 429:
        return ProviderUnavailable(PROVIDER, f"download: {status} {code}: {message}")
    return ProviderError(PROVIDER, status, code, message)


# small readers


def _number(meeting: Meeting) -> str:
    if not meeting.meeting_id.isdigit():
        raise Invalid("A Zoom meeting id is a number.", field="meeting_id")
    return meeting.meeting_id


async def _gone_is_done(call: Awaitable[object]) -> None:
    try:
        await call
    except ProviderError as exc:
        if exc.provider_status != 404 and exc.provider_code != MEETING_NOT_FOUND:
            raise


def _parse_instant(value: str) -> datetime.datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def _instant(value: str, fallback: datetime.datetime) -> datetime.datetime:
    return _parse_instant(value) or fallback


def _from_ms(milliseconds: int) -> datetime.datetime:
    seconds = milliseconds / 1000 if milliseconds > 0 else time.time()
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC)
