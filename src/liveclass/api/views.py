"""Turning rows into response schemas (URLs, secrets shown only to whom they belong)."""

from __future__ import annotations

import functools
import math
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import Response

from liveclass.api.schemas import SessionOut
from liveclass.auth.issued import TokenIssuer
from liveclass.control.hosted import is_hosted
from liveclass.control.participants import Admission
from liveclass.db.sessions import SessionRecord, ShownSession
from liveclass.domain.access import may_host
from liveclass.domain.actors import Actor
from liveclass.domain.participants import ParticipantStatus
from liveclass.domain.roles import Permissions
from liveclass.services import Services


def json_response(content: Any, *, status_code: int = 200) -> Response:
    """JSON built from plain values, serialised once.

    A route that returns a model has FastAPI validate it again against ``response_model``
    before serialising it; the hot routes (join, list) build the same JSON from dicts in
    the field order of their documented model, which stays their ``response_model``.
    orjson writes the same JSON as pydantic for these values (times in UTC end in ``Z``)
    in about a quarter of the time.
    """
    return Response(
        orjson.dumps(content, option=orjson.OPT_UTC_Z),
        status_code=status_code,
        media_type="application/json",
    )


def classroom_url(services: Services, session_id: object) -> str:
    return _classroom_link(services.settings.base_url, session_id)


def _classroom_link(base_url: str, session_id: object) -> str:
    return f"{base_url}/classroom/{session_id}"


def invite_url(services: Services, session_id: object, token: str) -> str:
    return _invite_link(services.settings.base_url, session_id, token)


def _invite_link(base_url: str, session_id: object, token: str) -> str:
    return f"{_classroom_link(base_url, session_id)}?invite={token}"


def session_out(services: Services, actor: Actor, row: SessionRecord) -> SessionOut:
    return SessionOut(**session_fields(services, actor, ShownSession.of(row)))


def session_fields(services: Services, actor: Actor, shown: ShownSession) -> dict[str, Any]:
    """The fields of ``SessionOut``, in its order, from a session as shown (a listing's row
    as read, or ``ShownSession.of`` a loaded one); ids and enums as their text."""
    hosts = may_host(actor, shown.owner_id)
    return _fields(services.settings.base_url, services.issuer, hosts, shown)


def listed_session(services: Services, actor: Actor, shown: ShownSession) -> orjson.Fragment:
    """``session_fields`` as JSON, for a listing's ``json_response``."""
    hosts = may_host(actor, shown.owner_id)
    return _listed(services.settings.base_url, services.issuer, hosts, shown)


# A platform's pages list the same sessions again and again, and a session's JSON is a pure
# function of its shown columns (any change, ``updated_at`` included, is another record),
# the caller's right to its invite and the node's base URL and invite key: rendered once,
# a listed item costs a lookup (about 0.6 instead of 4 µs; a page of 20 pays it 20 times).
# The issuer is a key by identity, kept alive by the cache, so two apps in one process
# never share an entry.
@functools.lru_cache(maxsize=4096)
def _listed(
    base_url: str, issuer: TokenIssuer, hosts: bool, shown: ShownSession
) -> orjson.Fragment:
    fields = _fields(base_url, issuer, hosts, shown)
    return orjson.Fragment(orjson.dumps(fields, option=orjson.OPT_UTC_Z))


def _fields(base_url: str, issuer: TokenIssuer, hosts: bool, shown: ShownSession) -> dict[str, Any]:
    sid = str(shown.id)
    hosted_link = shown.media_server if is_hosted(shown.provider) else None
    token = link = None
    if hosts:
        token = issuer.invite_token(session_id=sid, version=shown.invite_version)
        link = _invite_link(base_url, sid, token)
    return {
        "id": sid,
        "title": shown.title,
        "description": shown.description,
        "course_id": shown.course_id,
        "booking_id": shown.booking_id,
        "session_type": shown.session_type,
        "status": shown.status.value,
        "scheduled_at": shown.scheduled_at,
        "duration": shown.duration_minutes,
        "max_participants": shown.max_participants,
        "is_public": shown.is_public,
        "is_recorded": shown.is_recorded,
        "waiting_room": shown.waiting_room,
        "has_password": shown.has_password,
        "provider": shown.provider,
        "default_role": shown.default_role.value,
        "owner_id": shown.owner_id,
        "owner_name": shown.owner_name,
        "meeting_url": hosted_link or _classroom_link(base_url, sid),
        "room_url": hosted_link,
        "invite_token": token,
        "invite_url": link,
        "started_at": shown.started_at,
        "ended_at": shown.ended_at,
        "end_reason": shown.end_reason,
        "created_at": shown.created_at,
        "updated_at": shown.updated_at,
    }


def join_fields(services: Services, admission: Admission) -> dict[str, Any]:
    """The fields of ``JoinOut``, in its order, ready for ``json_response``: ids and the
    role as their text (the same JSON; asyncpg's UUID subclass and the enum are slow paths
    for the serialiser)."""
    me = admission.participant
    role = me.role
    permissions = Permissions.for_role(role)
    ws_url = classroom_socket_url(services, admission.session.id)
    return dict(
        session_id=str(admission.session.id),
        participant_id=str(me.id),
        user_id=me.user_id,
        name=me.name,
        role=role.value,
        status=me.status.value,
        permissions=permissions.as_dict(),
        can_publish=permissions.can_publish,
        can_subscribe=permissions.can_subscribe,
        access_token=_media_token(admission.media) or admission.access_token,
        realtime_token=admission.access_token,
        expires_at=datetime.fromtimestamp(admission.expires_at, UTC),
        ws_url=ws_url,
        server_url=_server_url(admission.media) or ws_url,
        classroom_url=_join_link(admission.media)
        or f"{classroom_url(services, me.session_id)}#token={admission.access_token}",
        media=admission.media,
        message=_JOIN_MESSAGES[me.status],
    )


def classroom_socket_url(services: Services, session_id: object) -> str:
    """The classroom WebSocket of a session, from PUBLIC_BASE_URL (https gives wss)."""
    ws_base = services.settings.base_url.replace("http", "ws", 1)
    return f"{ws_base}/api/v1/sessions/{session_id}/ws"


def _join_link(media: dict[str, Any]) -> str | None:
    # a hosted provider's own link for this person (the host's start link or owner token)
    url = media.get("join_url")
    return url if isinstance(url, str) and url else None


def _media_token(media: dict[str, Any]) -> str | None:
    # Beside its server_url, a backend whose clients connect to it directly (LiveKit) grants
    # its own token: seed 001 hands the join's server_url and access_token to that client.
    token = media.get("access_token")
    return token if isinstance(token, str) and token else None


def _server_url(media: dict[str, Any]) -> str | None:
    # A backend whose clients connect to its media server themselves (LiveKit) names that
    # server in its grant; with mesh and Janus everything starts at the classroom socket.
    url = media.get("server_url")
    return url if isinstance(url, str) and url else None


_JOIN_MESSAGES = {
    ParticipantStatus.JOINED: "Joined session successfully",
    ParticipantStatus.WAITING: "You are in the waiting room; the host will admit you.",
}


def total_pages(total: int, page_size: int) -> int:
    return max(1, math.ceil(total / page_size))
