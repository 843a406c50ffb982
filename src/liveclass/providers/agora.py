"""Agora as a hosted provider (seed 000: "RTC token generation, channel management").

Agora has no channel API: a channel exists while someone is in it with a valid token.

- create / update: a channel name per class (``class-<session id>``); nothing is called.
  ``meeting_url`` is ``agora:<app id>/<channel>``, since Agora has no web page to open:
  an Agora SDK client joins with what the join answers.
- join: ``app_id``, ``channel``, ``uid``, ``token`` and ``expires_at``. The uid is
  ``numeric_uid(channel, user id)``: the same 32-bit number on every join of that person,
  which is how a notification's uid leads back to them (Agora's notifications carry only
  the number, never a string account). The token is AccessToken2 ("007"), with publish
  privileges only for roles that may publish, expiring an hour after the class's planned
  end (at least 15 minutes from now, at most 24 h: Agora's cap).
- kick: a kicking rule for the channel and uid (Agora drops them at once and refuses
  their rejoin for ``KICK_SECONDS``); liveclass gives a kicked person no new token.
- end / delete: nothing to call; no new token is handed out after the class, and those
  handed out expire.
- recording: Cloud Recording (acquire, start, stop), mixed, into liveclass's own S3 bucket
  (``RECORDING_STORAGE=s3``) under ``<prefix>/agora/<channel>/``; other storage:
  ``NotSupported``. The running recording's ids are kept by this process. Agora hosts no
  download link: its "uploaded" notification (Cloud Recording, event 31) names the MP4,
  which is read from the bucket (``agora_files``) into a liveclass recording.
- webhooks: Agora Notifications, ``Agora-Signature-V2`` = hex HMAC-SHA256(secret, raw body).
  No header carries a time, but ``notifyMs`` (the time of this sending, renewed on each
  retry) is in the signed body, so a delivery older than ``TOLERANCE`` is refused. 101/102
  channel create/destroy -> meeting started/ended; 103/105 (host, audience) join and 104/106
  leave -> participant joined/left, by uid; Cloud Recording's 31 (uploaded) -> recording
  ready; ``noticeId`` de-duplicates.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from liveclass.config import Settings
from liveclass.domain.roles import Action, role_allows
from liveclass.providers.agora_api import (
    S3_REGIONS,
    AgoraClient,
    CloudRecording,
    RecordingBucket,
)
from liveclass.providers.agora_files import BucketFiles
from liveclass.providers.agora_token import build_rtc_token
from liveclass.providers.errors import ProviderError, WebhookRejected
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
    numeric_uid,
    token_meeting_data,
    token_seconds,
)
from liveclass.providers.json_fields import submessage
from liveclass.providers.unsupported import NotSupported

NAME = "agora"
PROVIDER = "Agora"
SIGNATURE_HEADER = "Agora-Signature-V2"
TOLERANCE = 300.0  # seconds a notification may take to arrive
MIN_TTL = 15 * 60
MAX_TTL = 24 * 3600
KICK_SECONDS = 24 * 3600
RECORDER = "recorder"  # the user id the recording bot joins as (its uid follows from it)

CHANNEL_CREATED, CHANNEL_DESTROYED = 101, 102
CLOUD_RECORDING, UPLOADED = 3, 31  # Cloud Recording's productId and its "uploaded" event
_JOINED = frozenset({103, 105})
_LEFT = frozenset({104, 106})

Clock = Callable[[], float]


class AgoraProvider:
    """``HostedProvider`` (and ``Ejects``) on Agora's tokens and REST API."""

    name = NAME

    def __init__(
        self,
        client: AgoraClient,
        *,
        app_certificate: str,
        webhook_secret: str,
        bucket: RecordingBucket | None = None,
        files: BucketFiles | None = None,
        clock: Clock = time.time,
        webhook_tolerance: float = TOLERANCE,
    ) -> None:
        self.client = client
        self._certificate = app_certificate
        self._secret = webhook_secret
        self._bucket = bucket
        self._files = files
        self._clock = clock
        self._tolerance = webhook_tolerance
        self._recordings: dict[str, CloudRecording] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> AgoraProvider:
        certificate, secret = settings.agora_app_certificate, settings.agora_customer_secret
        webhook = settings.agora_webhook_secret
        assert settings.agora_app_id and settings.agora_customer_id  # hosted_configured
        assert certificate and secret and webhook
        client = AgoraClient(
            app_id=settings.agora_app_id,
            customer_id=settings.agora_customer_id,
            customer_secret=secret.get_secret_value(),
            api_url=settings.agora_api_url,
        )
        return cls(
            client,
            app_certificate=certificate.get_secret_value(),
            webhook_secret=webhook.get_secret_value(),
            bucket=bucket_of(settings),
            files=files_of(settings),
        )

    async def aclose(self) -> None:
        await self.client.aclose()
        if self._files is not None:
            self._files.close()

    # channels: nothing to call

    async def create(self, spec: MeetingSpec) -> Meeting:
        channel = f"class-{spec.session_id.hex}"
        url = f"agora:{self.client.app_id}/{channel}"
        return Meeting(NAME, channel, url, token_meeting_data(spec))

    async def update(self, meeting: Meeting, spec: MeetingSpec) -> Meeting:
        return Meeting(NAME, meeting.meeting_id, meeting.url, token_meeting_data(spec))

    async def end(self, meeting: Meeting) -> None:
        """Nothing to call: Agora destroys a channel when its last person leaves."""

    async def delete(self, meeting: Meeting) -> None:
        """Nothing to call: a channel exists only while people are in it."""

    # people

    async def join(self, meeting: Meeting, who: Attendee) -> JoinGrant:
        channel = meeting.meeting_id
        uid = numeric_uid(channel, who.user_id)
        publisher = role_allows(who.role, Action.PUBLISH)
        ttl = self._ttl(meeting)
        token = self._token(channel, uid, publisher=publisher, ttl=ttl)
        expires = int(self._clock()) + ttl
        extra = {
            "app_id": self.client.app_id,
            "channel": channel,
            "uid": uid,
            "publisher": publisher,
        }
        return JoinGrant(f"{meeting.url}?uid={uid}", token, expires, extra)

    async def kick(self, meeting: Meeting, who: Attendee) -> None:
        uid = numeric_uid(meeting.meeting_id, who.user_id)
        await self.client.kick(channel=meeting.meeting_id, uid=uid, seconds=KICK_SECONDS)

    def _token(self, channel: str, uid: int, *, publisher: bool, ttl: int) -> str:
        return build_rtc_token(
            app_id=self.client.app_id,
            app_certificate=self._certificate,
            channel=channel,
            uid=uid,
            publisher=publisher,
            token_expire_seconds=ttl,
            privilege_expire_seconds=ttl,
            issued_at=int(self._clock()),
        )

    def _ttl(self, meeting: Meeting) -> int:
        ends_at = meeting.data.get("ends_at")
        return token_seconds(ends_at, self._clock(), shortest=MIN_TTL, longest=MAX_TTL)

    # recording

    async def start_recording(self, meeting: Meeting) -> None:
        if self._bucket is None:
            raise NotSupported(
                PROVIDER, "record into local storage", "set RECORDING_STORAGE=s3 and S3_*"
            )
        channel = meeting.meeting_id
        uid = numeric_uid(channel, RECORDER)
        token = self._token(channel, uid, publisher=False, ttl=MAX_TTL)
        prefix = (*self._bucket.prefix, "agora", _alnum(channel))
        bucket = RecordingBucket(
            self._bucket.bucket,
            self._bucket.region,
            self._bucket.access_key,
            self._bucket.secret_key,
            prefix,
        )
        self._recordings[channel] = await self.client.start(
            channel=channel, uid=str(uid), token=token, bucket=bucket
        )

    async def stop_recording(self, meeting: Meeting) -> None:
        recording = self._recordings.pop(meeting.meeting_id, None)
        if recording is None:
            raise ProviderError(PROVIDER, 404, "no_recording", "no recording runs in this class")
        await self.client.stop(recording)

    async def download(self, recording: RecordingFile) -> AsyncIterator[bytes]:
        """The file Cloud Recording uploaded, from the bucket (its key is the download url)."""
        if self._files is None:
            raise NotSupported(
                PROVIDER, "serve a recording", "Cloud Recording uploads into an S3 bucket"
            )
        async for chunk in self._files.read(recording.download_url):
            yield chunk

    # webhooks

    def read_webhook(
        self, headers: Mapping[str, str], body: bytes
    ) -> list[ProviderEvent] | Challenge:
        signature = header(headers, SIGNATURE_HEADER)
        expected = hmac.new(self._secret.encode(), body, hashlib.sha256).hexdigest()
        if not signature or not hmac.compare_digest(signature.strip().lower(), expected):
            raise WebhookRejected(PROVIDER, f"{SIGNATURE_HEADER} does not match the body")
        try:
            notice = json.loads(body)
        except ValueError as exc:
            raise WebhookRejected(PROVIDER, "the body is not JSON") from exc
        if not isinstance(notice, dict):
            raise WebhookRejected(PROVIDER, "the body is not a JSON object")
        sent = notice.get("notifyMs")
        if not isinstance(sent, int | float) or abs(self._clock() - sent / 1000) > self._tolerance:
            raise WebhookRejected(PROVIDER, "notifyMs is missing or too far from now")
        return events_of(notice)


def events_of(notice: Mapping[str, Any]) -> list[ProviderEvent]:
    """The liveclass events in one (verified) notification; none for those it ignores."""
    notice_id, event_type = notice.get("noticeId"), notice.get("eventType")
    payload = submessage(notice, "payload")
    if notice.get("productId") == CLOUD_RECORDING:
        return _recording_events(notice_id, event_type, payload)
    channel = payload.get("channelName")
    if not isinstance(notice_id, str) or not notice_id or not isinstance(channel, str):
        return []
    ts = payload.get("ts")
    seconds = ts if isinstance(ts, int | float) else float(notice.get("notifyMs") or 0) / 1000
    at = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    if event_type == CHANNEL_CREATED:
        return [ProviderEvent(EventKind.MEETING_STARTED, notice_id, channel, at)]
    if event_type == CHANNEL_DESTROYED:
        return [ProviderEvent(EventKind.MEETING_ENDED, notice_id, channel, at)]
    uid = payload.get("uid")
    if event_type not in _JOINED | _LEFT or not isinstance(uid, int) or isinstance(uid, bool):
        return []
    kind = EventKind.PARTICIPANT_JOINED if event_type in _JOINED else EventKind.PARTICIPANT_LEFT
    # one uid is one person; their joins and leaves pair up by it (clientSeq orders them)
    return [ProviderEvent(kind, notice_id, channel, at, connection=str(uid), uid=uid)]


def _recording_events(notice_id: object, event_type: object, payload: Any) -> list[ProviderEvent]:
    """Cloud Recording's "uploaded": every file is in the bucket; the MP4 is the recording."""
    channel, sid = payload.get("cname"), payload.get("sid")
    listed = submessage(payload, "details").get("fileList")
    if event_type != UPLOADED or not isinstance(notice_id, str) or not notice_id:
        return []
    if not isinstance(channel, str) or not isinstance(sid, str) or not isinstance(listed, list):
        return []
    names = [f.get("fileName") for f in listed if isinstance(f, dict)]
    mp4 = [name for name in names if isinstance(name, str) and name.endswith(".mp4")]
    if not mp4:
        return []  # HLS alone: no single file to keep
    sent = payload.get("sendts")
    seconds = sent / 1000 if isinstance(sent, int | float) else time.time()
    at = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    file = RecordingFile(recording_id=sid, download_url=mp4[0], file_format="mp4")
    return [ProviderEvent(EventKind.RECORDING_READY, notice_id, channel, at, recording=file)]


def files_of(settings: Settings) -> BucketFiles | None:
    """liveclass's S3 bucket, to read what Cloud Recording uploaded."""
    secret = settings.s3_secret_key
    if settings.recording_storage != "s3" or not settings.s3_bucket or secret is None:
        return None
    if not settings.s3_access_key:
        return None
    return BucketFiles(
        settings.s3_bucket,
        access_key=settings.s3_access_key,
        secret_key=secret.get_secret_value(),
        region=settings.s3_region,
        endpoint_url=settings.s3_endpoint_url,
    )


def bucket_of(settings: Settings) -> RecordingBucket | None:
    """liveclass's S3 bucket as Cloud Recording's storage, when recordings go to S3."""
    secret = settings.s3_secret_key
    if settings.recording_storage != "s3" or not settings.s3_bucket or secret is None:
        return None
    region = S3_REGIONS.get(settings.s3_region or "us-east-1")
    if region is None or not settings.s3_access_key:
        return None
    prefix = tuple(_alnum(part) for part in settings.s3_prefix.split("/") if _alnum(part))
    return RecordingBucket(
        settings.s3_bucket, region, settings.s3_access_key, secret.get_secret_value(), prefix
    )


def _alnum(text: str) -> str:
    # Cloud Recording's fileNamePrefix entries allow letters and digits only
    return "".join(c for c in text if c.isascii() and c.isalnum())
