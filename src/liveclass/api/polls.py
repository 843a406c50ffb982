"""Polls and quizzes of a session: create them before or during the class, read them and their
results (as the caller's role may see them) during and after it."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter

from liveclass.api.deps import CallerDep, ServicesDep, actor_of
from liveclass.api.schemas import PollCreate, PollOut
from liveclass.api.sessions import PROBLEMS
from liveclass.control import polls as control
from liveclass.domain.polls import PollDraft

router = APIRouter(tags=["polls"])


@router.post(
    "/sessions/{session_id}/polls",
    status_code=201,
    response_model=PollOut,
    responses=PROBLEMS,
    summary="Create a poll or quiz as a draft (moderators; scheduled or live sessions)",
)
async def create_poll(
    session_id: uuid.UUID, body: PollCreate, caller: CallerDep, services: ServicesDep
) -> PollOut:
    draft = PollDraft(
        question=body.question,
        options=tuple(body.options),
        multiple=body.multiple,
        anonymous=body.anonymous,
        quiz=body.quiz,
        correct=tuple(body.correct),
        results_visible=body.results_visible,
    )
    shown = await control.create_by(services, actor_of(caller), session_id, draft)
    return _out(shown)


@router.get(
    "/sessions/{session_id}/polls",
    response_model=list[PollOut],
    responses=PROBLEMS,
    summary="The session's polls, with results as the caller's role may see them",
)
async def list_polls(
    session_id: uuid.UUID, caller: CallerDep, services: ServicesDep
) -> list[PollOut]:
    return [_out(p) for p in await control.list_polls(services, actor_of(caller), session_id)]


@router.get(
    "/sessions/{session_id}/polls/{poll_id}",
    response_model=PollOut,
    responses=PROBLEMS,
    summary="One poll, with results as the caller's role may see them",
)
async def get_poll(
    session_id: uuid.UUID, poll_id: uuid.UUID, caller: CallerDep, services: ServicesDep
) -> PollOut:
    return _out(await control.get_poll(services, actor_of(caller), session_id, poll_id))


def _out(shown: dict[str, Any]) -> PollOut:
    return PollOut.model_validate(shown["poll"])
