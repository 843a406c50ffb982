"""Turning rows into response schemas (URLs, secrets shown only to whom they belong)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from fastapi import Response
from pydantic_core import to_json

from liveclass.api.schemas import SessionOut
from liveclass.control.access import is_owner_or_admin
from liveclass.control.actor import Actor
from liveclass.control.participants import Admission
from liveclass.db.sessions import SessionRecord
from liveclass.db.tables import LiveSessionRow
from liveclass.domain.roles import Permissions, Role
from liveclass.services import Services

AnySession = LiveSessionRow | SessionRecord


def json_response(content: Any, *, status_code: int = 200) -> Response:
    """JSON built from plain values, serialised once.

    A route that returns a model has FastAPI validate it again against ``response_model``
    before serialising it; the hot routes (join, list) build the same JSON from dicts in
    the field order of their documented model, which stays their ``response_model``.
    """
    return Response(to_json(content), status_code=status_code, media_type="application/json")


def classroom_url(services: Services, session_id: object) -> str:
    return f"{services.settings.base_url}/classroom/{session_id}"


def invite_url(services: Services, row: AnySession, token: str) -> str:
    return f"{classroom_url(services, row.id)}?invite={token}"


def session_out(services: Services, actor: Actor, row: AnySession) -> SessionOut:
    return SessionOut(**session_fields(services, actor, row))


def session_fields(
    services: Services, actor: Actor, row: AnySession, *, id_text: bool = False
) -> dict[str, Any]:
    """The fields of ``SessionOut``, in its order.

    ``id_text``: the id as its text, for JSON built directly (the same JSON; asyncpg's UUID
    subclass costs the serialiser a slow type lookup per value).
    """
    token = None
    if is_owner_or_admin(actor, row):
        token = services.issuer.invite_token(session_id=row.id, version=row.invite_version)
    return dict(
        id=str(row.id) if id_text else row.id,
        title=row.title,
        description=row.description,
        course_id=row.course_id,
        booking_id=row.booking_id,
        session_type=row.session_type,
        status=row.status,
        scheduled_at=row.scheduled_at,
        duration=row.duration_minutes,
        max_participants=row.max_participants,
        is_public=row.is_public,
        is_recorded=row.is_recorded,
        waiting_room=row.waiting_room,
        has_password=row.password_hash is not None,
        provider=row.provider,
        default_role=row.default_role,
        owner_id=row.owner_id,
        owner_name=row.owner_name,
        meeting_url=classroom_url(services, row.id),
        invite_token=token,
        invite_url=invite_url(services, row, token) if token else None,
        started_at=row.started_at,
        ended_at=row.ended_at,
        end_reason=row.end_reason,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def join_fields(services: Services, admission: Admission) -> dict[str, Any]:
    """The fields of ``JoinOut``, in its order, ready for ``json_response``: ids and the
    role as their text (the same JSON; asyncpg's UUID subclass and the enum are slow paths
    for the serialiser)."""
    me = admission.participant
    role = Role(me.role)
    perms = Permissions.for_role(role)
    ws_base = services.settings.base_url.replace("http", "ws", 1)
    return dict(
        session_id=str(admission.session.id),
        participant_id=str(me.id),
        user_id=me.user_id,
        name=me.name,
        role=role.value,
        status=me.status,
        permissions=dict(
            can_publish=perms.can_publish,
            can_subscribe=perms.can_subscribe,
            can_publish_data=perms.can_publish_data,
            can_share_screen=perms.can_share_screen,
            room_admin=perms.room_admin,
            can_record=perms.can_record,
        ),
        access_token=admission.access_token,
        expires_at=datetime.fromtimestamp(admission.expires_at, UTC),
        ws_url=f"{ws_base}/api/v1/sessions/{admission.session.id}/ws",
        classroom_url=f"{classroom_url(services, me.session_id)}#token={admission.access_token}",
        media=admission.media,
    )


def total_pages(total: int, page_size: int) -> int:
    return max(1, math.ceil(total / page_size))
