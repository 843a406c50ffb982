"""Microsoft Teams as a hosted provider: an online meeting per class, owned by the configured
organizer (``TEAMS_ORGANIZER_ID``) and made with the app's client credentials through
Microsoft Graph; its attendance read from the meeting's attendance reports.

- create: ``POST /users/{organizer}/onlineMeetings`` with the class's subject, start and
  end, ``lobbyBypassSettings`` from its waiting room (waiting room: scope ``organizer``,
  everyone else waits in the lobby to be admitted; none: ``everyone``), and
  ``recordAutomatically`` when the class is recorded. ``meeting_url`` = ``joinWebUrl``.
  A created meeting Graph answered without its id or link is deleted again.
- update: ``PATCH`` of the same fields (a reschedule, a new title, the waiting room).
- delete: ``DELETE``; a meeting Graph no longer has (404) counts as deleted.
- end: Graph has no call that ends an online meeting for the people in it (only calls an
  app joined itself can be hung up, ``/communications/calls``). liveclass closes the door:
  the lobby goes to ``organizer`` only, so whoever arrives after the class ended waits
  there (nobody admits them); people still in the call stay until they leave. A meeting
  that is gone counts as ended.
- join: Teams has no per-person token: everyone, host included, gets ``joinWebUrl``; the
  lobby decides who enters at once.
- recording: Graph has no call to start or stop one (``NotSupported``); a recorded class's
  meeting records by itself (``recordAutomatically``). Graph serves recordings only of
  meetings tied to a calendar event, not of meetings made by ``onlineMeetings`` as here,
  so liveclass cannot fetch the file: it stays in the organizer's OneDrive.
- attendance: ``attendance(meeting)`` reads every attendance report of the meeting and its
  records; each ``attendanceInterval`` is a joined and a left ``ProviderEvent`` whose ids
  derive from the report, the record and the join time, so a later read de-duplicates.
- change notifications: subscribing (``POST /subscriptions``, done by the operator, for
  ``communications/onlineMeetings(joinWebUrl='...')/meetingCallEvents``) makes Graph call
  the webhook with ``?validationToken=...``, echoed as ``text/plain``. Each notification's
  ``clientState`` must be ``TEAMS_CLIENT_STATE``, and its subscription must not have
  expired (a replay); notifications name the meeting by its join link. Where the call
  event is given in clear (``resourceData.eventType`` ``callStarted`` / ``callEnded``) it
  starts or ends the class; basic notifications carry no event (Graph removed resource
  data from them in 2024) and rich ones are encrypted with a certificate liveclass does not
  hold, so those change nothing: attendance comes from the reports.

Who is who: Graph names a person by their Entra identity (``identity.id``, ``displayName``)
or, for a guest, the name they typed; liveclass knows neither their Entra id nor their
mail (the platform's token carries a user id and a name). A record is matched by its
display name to the session's participants (``ProviderEvent.display_name``, matched in
control, case and spacing folded), and only when exactly one has that name; anyone else
(the organizer, people liveclass gave no link, two people with one name) is not counted.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from liveclass.config import Settings
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
)
from liveclass.providers.json_fields import submessage, submessages, text
from liveclass.providers.teams_api import (
    PROVIDER,
    AttendanceRecord,
    ClientCredentials,
    GraphClient,
    TeamsTokenSource,
)
from liveclass.providers.transport import DEFAULT_TIMEOUT, ProviderTransport
from liveclass.providers.unsupported import NotSupported

NAME = "teams"
MAX_SUBJECT = 255
# a notification for a subscription that expired longer ago than this is a replay
EXPIRY_TOLERANCE = timedelta(minutes=5)
CALL_EVENTS = {"callStarted": EventKind.MEETING_STARTED, "callEnded": EventKind.MEETING_ENDED}
_RESOURCE_MARKERS = ("joinWebUrl='", "JoinWebUrl eq '")


class TeamsProvider:
    """``HostedProvider`` on Microsoft Graph for one organizer's online meetings."""

    name = NAME

    def __init__(self, client: GraphClient, *, client_state: str) -> None:
        self.client = client
        self._client_state = client_state

    @classmethod
    def from_settings(cls, settings: Settings) -> TeamsProvider:
        secret, state = settings.teams_client_secret, settings.teams_client_state
        tenant, client_id = settings.teams_tenant_id, settings.teams_client_id
        organizer = settings.teams_organizer_id
        assert tenant and client_id and secret and state and organizer  # hosted_configured
        transport = ProviderTransport(PROVIDER, timeout=DEFAULT_TIMEOUT)
        credentials = ClientCredentials(tenant, client_id, secret.get_secret_value())
        tokens = TeamsTokenSource(
            credentials, http=transport.http, login_url=settings.teams_login_url
        )
        client = GraphClient(
            settings.teams_graph_url, organizer=organizer, tokens=tokens, transport=transport
        )
        return cls(client, client_state=state.get_secret_value())

    async def aclose(self) -> None:
        await self.client.transport.aclose()

    # meetings

    async def create(self, spec: MeetingSpec) -> Meeting:
        made = await self.client.create_meeting(meeting_body(spec))
        if not made.id or not made.join_web_url:
            if made.id:
                await self._delete_quietly(made.id)
            raise ProviderUnavailable(PROVIDER, "the new meeting came without id or joinWebUrl")
        return Meeting(NAME, made.id, made.join_web_url)

    async def update(self, meeting: Meeting, spec: MeetingSpec) -> Meeting:
        changed = await self.client.update_meeting(meeting.meeting_id, meeting_body(spec))
        return Meeting(NAME, meeting.meeting_id, changed.join_web_url or meeting.url)

    async def end(self, meeting: Meeting) -> None:
        body = {"lobbyBypassSettings": _lobby(waiting_room=True)}
        await _gone_is_done(self.client.update_meeting(meeting.meeting_id, body))

    async def delete(self, meeting: Meeting) -> None:
        await _gone_is_done(self.client.delete_meeting(meeting.meeting_id))

    async def _delete_quietly(self, meeting_id: str) -> None:
        # the create's failure is what the caller hears about
        with contextlib.suppress(ProviderError, ProviderUnavailable):
            await self.client.delete_meeting(meeting_id)

    async def join(self, meeting: Meeting, who: Attendee) -> JoinGrant:
        return JoinGrant(url=meeting.url, extra={"shared_link": True})

    # recording

    async def start_recording(self, meeting: Meeting) -> None:
        raise NotSupported(
            PROVIDER,
            "start a recording",
            "a recorded class's meeting records by itself (recordAutomatically)",
        )

    async def stop_recording(self, meeting: Meeting) -> None:
        raise NotSupported(PROVIDER, "stop a recording", "the organizer stops it from inside Teams")

    def download(self, recording: RecordingFile) -> AsyncIterator[bytes]:
        return _no_download()

    # attendance

    async def attendance(self, meeting: Meeting) -> list[ProviderEvent]:
        """Every interval of every attendance report, as joins and leaves, oldest first."""
        events: list[ProviderEvent] = []
        for report in await self.client.attendance_reports(meeting.meeting_id):
            for record in await self.client.attendance_records(meeting.meeting_id, report):
                events.extend(_intervals(meeting.meeting_id, report, record))
        return sorted(events, key=lambda e: e.at)

    # change notifications

    def query_challenge(self, query: Mapping[str, str]) -> Challenge | None:
        token = query.get("validationToken")
        return None if token is None else Challenge(text=token)

    def read_webhook(
        self, headers: Mapping[str, str], body: bytes
    ) -> list[ProviderEvent] | Challenge:
        items = _notifications(body)
        for item in items:
            self._verify(item)
        events = (_call_event(item) for item in items)
        return [event for event in events if event is not None]

    def _verify(self, item: Mapping[str, Any]) -> None:
        state = text(item, "clientState")
        if not hmac.compare_digest(state.encode(), self._client_state.encode()):
            raise WebhookRejected(PROVIDER, "the notification's clientState is not ours")
        expiry = _parse_instant(text(item, "subscriptionExpirationDateTime"))
        if expiry is not None and expiry + EXPIRY_TOLERANCE < datetime.now(UTC):
            raise WebhookRejected(PROVIDER, "the notification's subscription has expired")


def meeting_body(spec: MeetingSpec) -> dict[str, Any]:
    """The create/update body: the class's subject, times, lobby and auto-recording."""
    starts = spec.starts_at if spec.starts_at.tzinfo else spec.starts_at.replace(tzinfo=UTC)
    ends = starts + timedelta(minutes=spec.duration_minutes)
    return {
        "subject": spec.title.strip()[:MAX_SUBJECT] or "Class",
        "startDateTime": _iso(starts),
        "endDateTime": _iso(ends),
        "lobbyBypassSettings": _lobby(waiting_room=spec.waiting_room),
        "recordAutomatically": spec.recorded,
    }


def _lobby(*, waiting_room: bool) -> dict[str, Any]:
    scope = "organizer" if waiting_room else "everyone"
    return {"scope": scope, "isDialInBypassEnabled": False}


def _intervals(meeting_id: str, report: str, record: AttendanceRecord) -> list[ProviderEvent]:
    events: list[ProviderEvent] = []
    for interval in record.intervals:
        joined = _parse_instant(interval.join)
        if joined is None:
            continue
        # one interval's id, the same on every read of this report
        span = hashlib.sha256(f"{report}\n{record.id}\n{interval.join}".encode()).hexdigest()[:40]
        events.append(_attended(EventKind.PARTICIPANT_JOINED, meeting_id, span, joined, record))
        left = _parse_instant(interval.leave)
        if left is not None:
            events.append(_attended(EventKind.PARTICIPANT_LEFT, meeting_id, span, left, record))
    return events


def _attended(
    kind: EventKind, meeting_id: str, span: str, at: datetime, record: AttendanceRecord
) -> ProviderEvent:
    step = "joined" if kind is EventKind.PARTICIPANT_JOINED else "left"
    return ProviderEvent(
        kind,
        f"{span}/{step}",
        meeting_id,
        at,
        connection=span,
        display_name=record.display_name or None,
    )


def _notifications(body: bytes) -> list[Mapping[str, Any]]:
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise WebhookRejected(PROVIDER, "not a change notification") from exc
    items = submessages(payload, "value") if isinstance(payload, dict) else []
    if not items:
        raise WebhookRejected(PROVIDER, "not a change notification")
    return items


def _call_event(item: Mapping[str, Any]) -> ProviderEvent | None:
    if text(item, "lifecycleEvent"):
        return None  # reauthorizationRequired, missed, ...: about the subscription
    data = submessage(item, "resourceData")
    kind = CALL_EVENTS.get(text(data, "eventType"))
    url = _join_url(text(item, "resource"))
    if kind is None or not url:
        return None
    at = _parse_instant(text(data, "eventDateTime")) or datetime.now(UTC)
    return ProviderEvent(kind, _notification_id(item), "", at, url=url)


def _join_url(resource: str) -> str:
    """The join link a notification's resource names (URL-encoded in it)."""
    for marker in _RESOURCE_MARKERS:
        _, found, rest = resource.partition(marker)
        if found:
            return unquote(rest.partition("'")[0])
    return ""


def _notification_id(item: Mapping[str, Any]) -> str:
    """Graph's ``id`` of the notification where it gives one; else a digest of the whole
    item, the same when Graph delivers it again."""
    given = text(item, "id")
    if given:
        return given[:128]
    canonical = json.dumps(item, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def _gone_is_done(call: Awaitable[object]) -> None:
    try:
        await call
    except ProviderError as exc:
        if exc.provider_status != 404:
            raise


async def _no_download() -> AsyncIterator[bytes]:
    raise NotSupported(
        PROVIDER,
        "fetch a recording",
        "Graph serves recordings only of calendar-backed meetings; it is in the"
        " organizer's OneDrive",
    )
    yield b""  # pragma: no cover - makes this an async generator


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def _parse_instant(value: str) -> datetime | None:
    if not value:
        return None
    # Graph writes up to seven fractional digits; Python reads at most six
    head, dot, rest = value.replace("Z", "+00:00").partition(".")
    if dot:
        digits = "".join(c for c in rest if c.isdigit())
        zone = rest[len(digits) :]
        value = f"{head}.{digits[:6]}{zone}"
    else:
        value = head
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
