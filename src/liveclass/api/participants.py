"""Joining and leaving, the participant list, and moderation (role, kick, admit)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import AfterValidator

from liveclass.api.deps import CallerDep, ServicesDep, actor_of, bearer_token
from liveclass.api.lean import body_of, caller_of, documented, path_uuid, services_of
from liveclass.api.schemas import (
    AdmitBody,
    JoinBody,
    JoinOut,
    Page,
    ParticipantOut,
    QuizScoreOut,
    RoleChange,
)
from liveclass.api.sessions import PROBLEMS
from liveclass.api.views import join_fields, json_response, total_pages
from liveclass.control import participants as control
from liveclass.db import attendance, seats
from liveclass.db import polls as poll_queries
from liveclass.db.seats import ParticipantRecord
from liveclass.domain import validation
from liveclass.domain.errors import Invalid, Unauthorized
from liveclass.domain.participants import ParticipantStatus
from liveclass.domain.roles import Role

router = APIRouter(tags=["participants"])

ParticipantPath = Annotated[
    str,
    Path(
        description="The participant's id, or the platform's user id of a participant of "
        "this session (a value that reads as a UUID is first taken as a participant id).",
        max_length=validation.EXTERNAL_ID_MAX,
    ),
    AfterValidator(validation.external_id),
]


@router.post(
    "/sessions/{session_id}/join",
    response_model=JoinOut,
    responses=PROBLEMS,
    summary="Join: role, permissions, access token and classroom link (idempotent)",
    openapi_extra=documented(path_uuids=("session_id",), body=JoinBody),
)
async def join_session(request: Request) -> Response:
    # bound by hand (api/lean.py): a whole class joins within the same minute
    session_id = path_uuid(request, "session_id")
    caller = await caller_of(request)
    body = await body_of(JoinBody, request) or JoinBody()
    if body.session_id is not None and body.session_id != session_id:
        raise Invalid("session_id must be the session of the path.", field="session_id")
    services = services_of(request)
    admission = await control.join(
        services,
        actor_of(caller),
        session_id,
        control.JoinRequest(
            invite_token=body.invite_token,
            password=body.password,
            display_name=body.display_name,
        ),
    )
    return json_response(join_fields(services, admission))


@router.post(
    "/sessions/{session_id}/token",
    response_model=JoinOut,
    responses=PROBLEMS,
    summary="Refresh an access token (authenticated by the current access token)",
    openapi_extra=documented(path_uuids=("session_id",)),
)
async def refresh_token(request: Request) -> Response:
    # bound by hand (api/lean.py): after a server restart every classroom reconnects at once
    session_id = path_uuid(request, "session_id")
    services = services_of(request)
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        raise Unauthorized("An access token is required.", code="TOKEN_MISSING")
    claims = services.issuer.verify_access(token)
    if claims.session_id != session_id:
        raise Unauthorized("The access token is for another session.", code="TOKEN_INVALID")
    return json_response(join_fields(services, await control.refresh(services, claims)))


@router.post("/sessions/{session_id}/leave", response_model=ParticipantOut, responses=PROBLEMS)
async def leave_session(
    session_id: uuid.UUID, caller: CallerDep, services: ServicesDep
) -> ParticipantOut:
    row = await control.leave(services, actor_of(caller), session_id)
    return await _participant_out(services, row)


@router.get(
    "/sessions/{session_id}/participants",
    response_model=Page[ParticipantOut],
    responses=PROBLEMS,
    summary="Participants, current and past, with join/leave times and durations",
)
async def list_participants(
    session_id: uuid.UUID,
    caller: CallerDep,
    services: ServicesDep,
    status: ParticipantStatus | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Page[ParticipantOut]:
    await control.visible_session(services, actor_of(caller), session_id)
    async with services.db.transaction() as tx:
        rows, total = await seats.participant_page(
            tx,
            session_id=session_id,
            status=status,
            offset=(page - 1) * page_size,
            limit=page_size,
        )
        seconds = await attendance.seconds_by_participant(tx, session_id=session_id)
        connected = await attendance.connected_participants(tx, session_id=session_id)
        scores = await poll_queries.quiz_scores(tx, session_id=session_id)
    return Page[ParticipantOut](
        items=[_out(r, seconds.get(r.id, 0.0), r.id in connected, scores.get(r.id)) for r in rows],
        total=total,
        page=page,
        page_size=page_size,
        total_pages=total_pages(total, page_size),
    )


@router.patch(
    "/sessions/{session_id}/participants/{participant_id}",
    response_model=ParticipantOut,
    responses=PROBLEMS,
    summary="Change a participant's role (host and co-host)",
)
async def change_role(
    session_id: uuid.UUID,
    participant_id: ParticipantPath,
    body: RoleChange,
    caller: CallerDep,
    services: ServicesDep,
) -> ParticipantOut:
    row = await control.change_role(
        services, actor_of(caller), session_id, participant_id, Role(body.role)
    )
    return await _participant_out(services, row)


@router.post(
    "/sessions/{session_id}/participants/{participant_id}/kick",
    response_model=ParticipantOut,
    responses=PROBLEMS,
    summary="Remove a participant for good (host and co-host)",
)
async def kick(
    session_id: uuid.UUID, participant_id: ParticipantPath, caller: CallerDep, services: ServicesDep
) -> ParticipantOut:
    row = await control.kick(services, actor_of(caller), session_id, participant_id)
    return await _participant_out(services, row)


@router.post(
    "/sessions/{session_id}/participants/{participant_id}/admit",
    response_model=ParticipantOut,
    responses=PROBLEMS,
    summary="Admit or deny someone in the waiting room (host and co-host)",
)
async def admit(
    session_id: uuid.UUID,
    participant_id: ParticipantPath,
    caller: CallerDep,
    services: ServicesDep,
    body: AdmitBody | None = None,
) -> ParticipantOut:
    body = body or AdmitBody()
    row = await control.admit(
        services, actor_of(caller), session_id, participant_id, admit=body.admit
    )
    return await _participant_out(services, row)


async def _participant_out(services: ServicesDep, row: ParticipantRecord) -> ParticipantOut:
    async with services.db.transaction() as tx:
        seconds = await attendance.seconds_by_participant(tx, session_id=row.session_id)
        connected = await attendance.connected_participants(tx, session_id=row.session_id)
        scores = await poll_queries.quiz_scores(tx, session_id=row.session_id)
    return _out(row, seconds.get(row.id, 0.0), row.id in connected, scores.get(row.id))


def _out(
    row: ParticipantRecord,
    seconds: float,
    connected: bool,
    score: poll_queries.QuizScore | None = None,
) -> ParticipantOut:
    return ParticipantOut(
        id=row.id,
        session_id=row.session_id,
        user_id=row.user_id,
        name=row.name,
        role=row.role,
        status=row.status,
        first_joined_at=row.first_joined_at,
        last_joined_at=row.last_joined_at,
        left_at=row.left_at,
        kicked_at=row.kicked_at,
        connected=connected,
        total_seconds=round(seconds, 3),
        quiz_score=QuizScoreOut(
            correct=score.correct if score else 0, answered=score.answered if score else 0
        ),
    )
