"""Google Meet as a hosted provider: a meeting space per class, owned by the Google user of
the configured refresh token, its attendance read from the conference records.

- create: ``POST /spaces`` with ``accessType`` OPEN for a public class and RESTRICTED
  otherwise, auto-recording ON when the class is recorded. ``meeting_url`` = ``meetingUri``.
- update: a reschedule changes nothing Meet knows (a space has no time); the access type
  and auto-recording are PATCHed so the space follows the class.
- join: Meet has no per-person token: everyone, host included, gets the ``meetingUri``;
  who may enter without knocking is the space's access type (the organizer admits others).
- end: ``:endActiveConference`` (no conference running counts as ended). delete: Meet has
  no call to delete a space; nothing is called, the space stays unused in the owner's list.
- recording: no REST call starts or stops one (``NotSupported``); a recorded class's space
  auto-records. Files land in the organizer's Drive; ``RECORDING_READY`` points at the
  Drive ``exportUri`` and the download uses the same OAuth token (scope ``drive.readonly``
  needed for that).
- attendance: ``attendance(meeting)`` reads every conference record of the space, its
  participants and their sessions, as joined/left ``ProviderEvent``s with stable ids, so
  applying them after pushed ones de-duplicates. Control reads it when the class ends and
  again later (``ReadsAttendance``, ``control.hosted_attendance``).
- webhooks: Workspace Events through a Pub/Sub push subscription; the push's
  ``Authorization: Bearer`` OIDC token is checked (RS256 by Google's published keys,
  issuer ``accounts.google.com``, audience ``GOOGLE_PUBSUB_AUDIENCE``). That token says
  Google sent the push; it does not sign the body.

Who is who: Meet names a person by their Google account or the name they typed, never by
an id of ours (no account linking). A participant is matched by display name to the people
liveclass gave this meeting's link (``join``), case-insensitively; a name nobody was given,
or two people with one name, stays unmatched (``user_id`` None). That map lives in this
process; the events read from the records also carry the display name, which control
matches against the session's participants in the database (``control.hosted_attendance``),
so a read on another node or after a restart still finds people. Pushed participant events
name only the participant session, so they are matched only when that participant was
already read (``attendance``); the reads when the class ends (and after, as the records
fill in) are the full record.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt

from liveclass.config import Settings
from liveclass.providers.errors import ProviderError, ProviderUnavailable, WebhookRejected
from liveclass.providers.google_oauth import (
    DelegatedCredentials,
    GoogleCredentials,
    GoogleTokenSource,
    RefreshCredentials,
)
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
from liveclass.providers.json_fields import submessage, text
from liveclass.providers.meet_api import (
    PROVIDER,
    AccessType,
    MeetClient,
    Participant,
    space_config,
)
from liveclass.providers.transport import DEFAULT_TIMEOUT, ProviderTransport
from liveclass.providers.unsupported import NotSupported

NAME = "meet"
ISSUERS = ("accounts.google.com", "https://accounts.google.com")
EVENT_PREFIX = "google.workspace.meet."
CONFERENCE_STARTED = "google.workspace.meet.conference.v2.started"
CONFERENCE_ENDED = "google.workspace.meet.conference.v2.ended"
PARTICIPANT_JOINED = "google.workspace.meet.participant.v2.joined"
PARTICIPANT_LEFT = "google.workspace.meet.participant.v2.left"
RECORDING_GENERATED = "google.workspace.meet.recording.v2.fileGenerated"
TRANSCRIPT_GENERATED = "google.workspace.meet.transcript.v2.fileGenerated"
FILE_GENERATED = "FILE_GENERATED"  # a recording's state once its file is in Drive
SPACE_SUBJECT = "//meet.googleapis.com/spaces/"
DOWNLOAD_CHUNK = 256 * 1024
CERTS_LIFESPAN = 3600  # Google rotates its keys over days; an hour bounds a stale key


class MeetProvider:
    """``HostedProvider`` on the Meet REST API for one Google user's spaces."""

    name = NAME

    def __init__(
        self,
        client: MeetClient,
        *,
        audience: str,
        certs_url: str,
    ) -> None:
        self.client = client
        self._audience = audience
        self._keys = jwt.PyJWKClient(certs_url, cache_keys=True, lifespan=CERTS_LIFESPAN)
        # (space id, folded display name) -> user ids given this space's link
        self._names: dict[tuple[str, str], set[str]] = {}
        # Meet participant resource -> its display name, from the records read
        self._participants: dict[str, str] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> MeetProvider:
        assert settings.google_pubsub_audience  # checked by hosted_configured
        credentials = _credentials(settings)
        transport = ProviderTransport(PROVIDER, timeout=DEFAULT_TIMEOUT)
        tokens = GoogleTokenSource(
            credentials, http=transport.http, oauth_url=settings.google_oauth_url
        )
        client = MeetClient(settings.google_meet_api_url, tokens=tokens, transport=transport)
        return cls(
            client,
            audience=settings.google_pubsub_audience,
            certs_url=settings.google_oidc_certs_url,
        )

    async def aclose(self) -> None:
        await self.client.transport.aclose()

    # meetings

    async def create(self, spec: MeetingSpec) -> Meeting:
        space = await self.client.create_space(_config(spec))
        return Meeting(NAME, space.id, space.meeting_uri, {"meeting_code": space.meeting_code})

    async def update(self, meeting: Meeting, spec: MeetingSpec) -> Meeting:
        mask = "config.accessType,config.artifactConfig.recordingConfig.autoRecordingGeneration"
        space = await self.client.update_space(meeting.meeting_id, _config(spec), mask)
        return Meeting(NAME, space.id, space.meeting_uri or meeting.url, dict(meeting.data))

    async def join(self, meeting: Meeting, who: Attendee) -> JoinGrant:
        # the one link there is; remembered so Meet's display names map back to people
        self._names.setdefault((meeting.meeting_id, _fold(who.name)), set()).add(who.user_id)
        return JoinGrant(url=meeting.url, extra={"shared_link": True})

    async def end(self, meeting: Meeting) -> None:
        try:
            await self.client.end_active_conference(meeting.meeting_id)
        except ProviderError as exc:
            # FAILED_PRECONDITION: no conference is running, which is what end wants
            if exc.provider_code not in ("FAILED_PRECONDITION", "NOT_FOUND"):
                raise

    async def delete(self, meeting: Meeting) -> None:
        """Meet has no delete call: a space outlives its class, unused."""

    async def start_recording(self, meeting: Meeting) -> None:
        raise NotSupported(
            PROVIDER,
            "start a recording",
            "a recorded class's space records by itself when its conference starts",
        )

    async def stop_recording(self, meeting: Meeting) -> None:
        raise NotSupported(
            PROVIDER, "stop a recording", "the organizer stops it from inside Google Meet"
        )

    async def download(self, recording: RecordingFile) -> AsyncIterator[bytes]:
        # the Drive export link, fetched with the organizer's token (scope drive.readonly)
        token = await self.client.tokens.token()
        headers = {"Authorization": f"Bearer {token}", **dict(recording.headers)}
        http = self.client.transport.http
        try:
            async with http.stream(
                "GET", recording.download_url, headers=headers, follow_redirects=True
            ) as response:
                if response.status_code >= 400:
                    raise ProviderUnavailable(
                        PROVIDER, f"the recording download answered {response.status_code}"
                    )
                async for chunk in response.aiter_bytes(DOWNLOAD_CHUNK):
                    yield chunk
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(PROVIDER, f"download: {type(exc).__name__}") from exc

    # attendance

    async def attendance(self, meeting: Meeting) -> list[ProviderEvent]:
        """Every join and leave in the space's conference records, oldest first. Sessions
        still open have no leave. Ids are Meet's session names, stable across reads."""
        events: list[ProviderEvent] = []
        for record in await self.client.conference_records(meeting.meeting_id):
            for participant in await self.client.participants(record):
                self._participants[participant.name] = participant.display_name
                events.extend(await self._sessions(meeting.meeting_id, participant))
        return sorted(events, key=lambda e: e.at)

    async def _sessions(self, space: str, participant: Participant) -> list[ProviderEvent]:
        user = self._user(space, participant.display_name)
        events: list[ProviderEvent] = []
        for session in await self.client.participant_sessions(participant.name):
            if session.start_time:
                events.append(
                    ProviderEvent(
                        EventKind.PARTICIPANT_JOINED,
                        f"{session.name}/joined",
                        space,
                        _instant(session.start_time),
                        user_id=user,
                        connection=session.name,
                        display_name=participant.display_name or None,
                    )
                )
            if session.end_time:
                events.append(
                    ProviderEvent(
                        EventKind.PARTICIPANT_LEFT,
                        f"{session.name}/left",
                        space,
                        _instant(session.end_time),
                        user_id=user,
                        connection=session.name,
                        display_name=participant.display_name or None,
                    )
                )
        return events

    # recordings on record

    async def recordings(self, meeting: Meeting) -> list[ProviderEvent]:
        """Every recording of the space's conferences whose file is in Drive, and every
        transcript written as a Google Doc (its link: liveclass keeps no copy)."""
        events: list[ProviderEvent] = []
        for record in await self.client.conference_records(meeting.meeting_id):
            for transcript in await self.client.transcripts(record):
                if transcript.state == FILE_GENERATED and transcript.export_uri:
                    at = _instant(transcript.end_time or transcript.start_time)
                    link, space = transcript.export_uri, meeting.meeting_id
                    events.append(_transcript_ready(transcript.name, space, at, link))
            for artifact in await self.client.recordings(record):
                if artifact.state != FILE_GENERATED or not artifact.export_uri:
                    continue  # still being written: a later read (or its push) finds it
                file = RecordingFile(
                    recording_id=artifact.file or artifact.name, download_url=artifact.export_uri
                )
                at = _instant(artifact.end_time or artifact.start_time)
                event_id = _file_event_id(artifact.name)
                events.append(
                    ProviderEvent(
                        EventKind.RECORDING_READY, event_id, meeting.meeting_id, at, recording=file
                    )
                )
        return events

    def _user(self, space: str, display_name: str) -> str | None:
        users = self._names.get((space, _fold(display_name)), set())
        return next(iter(users)) if len(users) == 1 else None

    # webhooks

    def read_webhook(
        self, headers: Mapping[str, str], body: bytes
    ) -> list[ProviderEvent] | Challenge:
        self._verify(headers)
        attributes, data = _pubsub_message(body)
        kind = attributes.get("ce-type", "")
        subject = attributes.get("ce-subject", "")
        if not kind.startswith(EVENT_PREFIX) or not subject.startswith(SPACE_SUBJECT):
            return []
        space = subject.removeprefix(SPACE_SUBJECT)
        event_id = attributes.get("ce-id", "")
        at = _instant(attributes.get("ce-time", ""))
        read = self._event(kind, event_id, space, at, data)
        return [] if read is None else [read]

    def _event(
        self, kind: str, event_id: str, space: str, at: datetime, data: Mapping[str, Any]
    ) -> ProviderEvent | None:
        if kind in (CONFERENCE_STARTED, CONFERENCE_ENDED):
            ended = kind == CONFERENCE_ENDED
            lifecycle = EventKind.MEETING_ENDED if ended else EventKind.MEETING_STARTED
            return ProviderEvent(lifecycle, event_id, space, at)
        if kind in (PARTICIPANT_JOINED, PARTICIPANT_LEFT):
            session = text(submessage(data, "participantSession"), "name")
            participant = session.split("/participantSessions/")[0]
            name = self._participants.get(participant)
            user = self._user(space, name) if name is not None else None
            joined = kind == PARTICIPANT_JOINED
            change = EventKind.PARTICIPANT_JOINED if joined else EventKind.PARTICIPANT_LEFT
            return ProviderEvent(change, event_id, space, at, user_id=user, connection=session)
        if kind == RECORDING_GENERATED:
            return self._recording(event_id, space, at, data)
        if kind == TRANSCRIPT_GENERATED:
            transcript = submessage(data, "transcript")
            link = text(submessage(transcript, "docsDestination"), "exportUri")
            name = text(transcript, "name")
            # only the name: read from the record after the class (recordings)
            return _transcript_ready(name, space, at, link) if name and link else None
        return None

    def _recording(
        self, event_id: str, space: str, at: datetime, data: Mapping[str, Any]
    ) -> ProviderEvent | None:
        recording = submessage(data, "recording")
        drive = submessage(recording, "driveDestination")
        export = text(drive, "exportUri")
        if not export:
            return None  # only the name: read from the record after the class (recordings)
        name = text(recording, "name")
        file = RecordingFile(recording_id=text(drive, "file") or name, download_url=export)
        # the id the record's read gives the same file, so a push and a read count once
        event_id = _file_event_id(name) if name else event_id
        return ProviderEvent(EventKind.RECORDING_READY, event_id, space, at, recording=file)

    def _verify(self, headers: Mapping[str, str]) -> None:
        scheme, _, token = (header(headers, "Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise WebhookRejected(PROVIDER, "no OIDC bearer token")
        try:
            key = self._keys.get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                audience=self._audience,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
        except jwt.PyJWKClientConnectionError as exc:
            raise ProviderUnavailable(PROVIDER, "Google's OIDC keys could not be read") from exc
        except jwt.PyJWTError as exc:
            raise WebhookRejected(PROVIDER, f"the OIDC token is not valid ({exc})") from exc
        if claims.get("iss") not in ISSUERS:
            raise WebhookRejected(PROVIDER, "the OIDC token was not issued by Google")


def _config(spec: MeetingSpec) -> dict[str, Any]:
    access = AccessType.OPEN if spec.is_public else AccessType.RESTRICTED
    return space_config(access, auto_record=spec.recorded)


def _pubsub_message(body: bytes) -> tuple[dict[str, str], Mapping[str, Any]]:
    """A push envelope's CloudEvent: attributes ``ce-*`` and the base64 JSON data."""
    try:
        envelope = json.loads(body)
        message = envelope["message"]
        attributes = {str(k): str(v) for k, v in dict(message.get("attributes") or {}).items()}
        raw = base64.b64decode(message.get("data") or "", validate=True)
        data = json.loads(raw) if raw else {}
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
        raise WebhookRejected(PROVIDER, "not a Pub/Sub push message") from exc
    return attributes, data if isinstance(data, dict) else {}


def _fold(name: str) -> str:
    return " ".join(name.split()).casefold()


def _transcript_ready(name: str, space: str, at: datetime, link: str) -> ProviderEvent:
    return ProviderEvent(EventKind.TRANSCRIPT_READY, _file_event_id(name), space, at, link=link)


def _file_event_id(recording: str) -> str:
    """The event id of a recording's file, pushed or read: its resource name."""
    return f"{recording}/file"


def _instant(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return datetime.now(UTC)


def _credentials(settings: Settings) -> GoogleCredentials:
    """The service account acting as the delegated user when one is set, else the refresh
    token (``Settings.hosted_missing`` checked that one of them is complete)."""
    key_file, subject = settings.google_service_account_file, settings.google_delegated_user
    if key_file is not None and subject:
        return DelegatedCredentials.of_file(key_file, subject=subject)
    secret, refresh = settings.google_client_secret, settings.google_refresh_token
    assert settings.google_client_id and secret and refresh
    return RefreshCredentials(
        settings.google_client_id, secret.get_secret_value(), refresh.get_secret_value()
    )
