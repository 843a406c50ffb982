"""``/sessions``: schedule, list, change, cancel, start and end live classes."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response

from liveclass.api.deps import CallerDep, ServicesDep, actor_of
from liveclass.api.lean import caller_of, documented, query_of, services_of
from liveclass.api.schemas import (
    NULLABLE_ON_UPDATE,
    InviteOut,
    Page,
    SessionCreate,
    SessionCreatedOut,
    SessionOut,
    SessionQuery,
    SessionUpdate,
    StatsOut,
)
from liveclass.api.stats import session_stats
from liveclass.api.views import (
    invite_url,
    json_response,
    listed_session,
    session_out,
    total_pages,
)
from liveclass.auth.platform import Caller
from liveclass.control import hosted
from liveclass.control import sessions as control
from liveclass.control.participants import visible_session
from liveclass.db import idempotency
from liveclass.db import sessions as queries
from liveclass.db.sessions import SessionRecord
from liveclass.domain.access import require_host
from liveclass.domain.actors import Actor
from liveclass.domain.errors import Conflict, Invalid, NotAllowed
from liveclass.services import Services

router = APIRouter(tags=["sessions"])

PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing, expired or invalid token"},
    403: {"description": "The caller's role does not allow this"},
    404: {"description": "No such session"},
    409: {"description": "The session's state does not allow this"},
    422: {"description": "Invalid input"},
}


@router.post(
    "/sessions",
    status_code=201,
    response_model=SessionCreatedOut,
    responses={**PROBLEMS, 200: {"description": "The booking already had this session"}},
    summary="Schedule a session (create-or-get by booking_id)",
)
async def create_session(
    body: SessionCreate,
    caller: CallerDep,
    services: ServicesDep,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> Response:
    if not caller.may_create_sessions:
        raise NotAllowed(
            "Only admins, teachers, mentors and instructors create sessions.",
            code="NOT_INSTRUCTOR",
        )
    request_hash = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
    if idempotency_key is not None:
        async with services.db.reader() as r:
            stored = await idempotency.find(r, key=idempotency_key, user_id=caller.user_id)
        if stored is not None:
            if stored.request_hash != request_hash:
                raise Conflict(
                    "This Idempotency-Key was used with a different request.",
                    code="IDEMPOTENCY_KEY_REUSED",
                )
            return Response(
                stored.body, status_code=stored.status_code, media_type="application/json"
            )
    draft = control.SessionDraft(**body.model_dump(exclude_unset=False))
    row, created = await control.create_session(services, actor_of(caller), draft)
    shown = session_out(services, actor_of(caller), row)
    # the owner's own media token only (an admin creating for a booking gets none)
    host_token = control.host_media_token(services, row) if row.owner_id == caller.user_id else None
    payload = SessionCreatedOut(**shown.model_dump(), host_token=host_token).model_dump_json()
    status = 201 if created else 200
    if idempotency_key is not None:
        async with services.db.transaction() as tx:
            await idempotency.remember(
                tx,
                key=idempotency_key,
                user_id=caller.user_id,
                request_hash=request_hash,
                status_code=status,
                body=payload,
            )
    return Response(payload, status_code=status, media_type="application/json")


@router.get(
    "/sessions",
    response_model=Page[SessionOut],
    responses=PROBLEMS,
    summary="List sessions",
    openapi_extra=documented(query=SessionQuery),
)
async def list_sessions(request: Request) -> Response:
    # bound by hand (api/lean.py): the hot read of a platform's pages
    caller = await caller_of(request)
    query = query_of(SessionQuery, request)
    services = services_of(request)
    f = queries.SessionFilter(
        visible_to=None if caller.is_admin else caller.user_id,
        course_id=query.course_id,
        owner_id=query.owner_id or query.instructor,
        status=query.status.value if query.status else None,
        session_type=query.session_type,
        is_public=query.is_public,
        scheduled_from=query.from_,  # in UTC already (schemas.UtcDateTimeFilter)
        scheduled_to=query.to,
        search=query.search,
    )
    page, page_size = query.page, query.page_size
    async with services.db.reader() as conn:
        rows, total = await queries.session_page(
            conn, where=f, sort=query.sort, offset=(page - 1) * page_size, limit=page_size
        )
    actor = actor_of(caller)
    return json_response(
        {
            "items": [listed_session(services, actor, r) for r in rows],
            "total": total,
            "page": page,
            "page_size": page_size,
            "total_pages": total_pages(total, page_size),
        }
    )


@router.get("/sessions/{session_id}", response_model=SessionOut, responses=PROBLEMS)
async def get_session(
    session_id: uuid.UUID, caller: CallerDep, services: ServicesDep
) -> SessionOut:
    actor = actor_of(caller)
    row, _ = await visible_session(services, actor, session_id)
    shown = session_out(services, actor, row)
    links = await hosted.meeting_links(services, row)
    return shown.model_copy(update=links) if links else shown


@router.patch("/sessions/{session_id}", response_model=SessionOut, responses=PROBLEMS)
async def update_session(
    session_id: uuid.UUID, body: SessionUpdate, caller: CallerDep, services: ServicesDep
) -> SessionOut:
    changes = body.model_dump(exclude_unset=True)
    for name, value in changes.items():
        if value is None and name not in NULLABLE_ON_UPDATE:
            raise _null_error(name)
    return await _update(services, caller, session_id, changes)


@router.put(
    "/sessions/{session_id}",
    response_model=SessionOut,
    responses=PROBLEMS,
    summary="Replace a session's settings (booking_id unchanged when omitted)",
)
async def replace_session(
    session_id: uuid.UUID, body: SessionCreate, caller: CallerDep, services: ServicesDep
) -> SessionOut:
    changes = body.model_dump(exclude={"booking_id"} if body.booking_id is None else set())
    if changes.get("provider") is None:
        changes["provider"] = services.settings.default_provider
    return await _update(services, caller, session_id, changes)


async def _update(
    services: Services, caller: Caller, session_id: uuid.UUID, changes: dict[str, Any]
) -> SessionOut:
    actor = actor_of(caller)
    row = await control.update_session(services, actor, session_id, changes)
    return session_out(services, actor, row)


def _null_error(name: str) -> Invalid:
    return Invalid(f"{name} cannot be null.", field=name)


@router.delete(
    "/sessions/{session_id}",
    response_model=SessionOut,
    responses=PROBLEMS,
    summary="Cancel a session (soft: status becomes cancelled)",
)
async def delete_session(
    session_id: uuid.UUID, caller: CallerDep, services: ServicesDep
) -> SessionOut:
    return await _step(services, caller, session_id, control.cancel_session)


@router.post("/sessions/{session_id}/cancel", response_model=SessionOut, responses=PROBLEMS)
async def cancel_session(
    session_id: uuid.UUID, caller: CallerDep, services: ServicesDep
) -> SessionOut:
    return await _step(services, caller, session_id, control.cancel_session)


Step = Callable[[Services, Actor, uuid.UUID], Awaitable[SessionRecord]]


async def _step(
    services: Services, caller: Caller, session_id: uuid.UUID, step: Step
) -> SessionOut:
    """A lifecycle step (cancel, start, end) on a session the caller can see."""
    actor = actor_of(caller)
    await visible_session(services, actor, session_id)
    return session_out(services, actor, await step(services, actor, session_id))


@router.post(
    "/sessions/{session_id}/start",
    response_model=SessionOut,
    responses={**PROBLEMS, 503: {"description": "The media server is unavailable"}},
)
async def start_session(
    session_id: uuid.UUID, caller: CallerDep, services: ServicesDep
) -> SessionOut:
    return await _step(services, caller, session_id, control.start_session)


@router.post("/sessions/{session_id}/end", response_model=SessionOut, responses=PROBLEMS)
async def end_session(
    session_id: uuid.UUID, caller: CallerDep, services: ServicesDep
) -> SessionOut:
    return await _step(services, caller, session_id, control.end_session)


@router.post(
    "/sessions/{session_id}/invite/rotate",
    response_model=InviteOut,
    responses=PROBLEMS,
    summary="Issue a new invite token; links with the old one stop working",
)
async def rotate_invite(
    session_id: uuid.UUID, caller: CallerDep, services: ServicesDep
) -> InviteOut:
    actor = actor_of(caller)
    await visible_session(services, actor, session_id)
    row = await control.rotate_invite(services, actor, session_id)
    token = services.issuer.invite_token(session_id=row.id, version=row.invite_version)
    return InviteOut(invite_token=token, invite_url=invite_url(services, row.id, token))


@router.get("/sessions/{session_id}/stats", response_model=StatsOut, responses=PROBLEMS)
async def get_stats(session_id: uuid.UUID, caller: CallerDep, services: ServicesDep) -> StatsOut:
    # Per-person attendance is the host's business (seed 001: session owner or admin).
    actor = actor_of(caller)
    row, _ = await visible_session(services, actor, session_id)
    require_host(actor, row)
    return await session_stats(services, row)
