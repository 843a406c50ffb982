"""Wire schemas of sessions and participants (JSON in snake_case)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)

from liveclass.domain import validation
from liveclass.domain.lifecycle import SessionStatus
from liveclass.domain.participants import ParticipantStatus
from liveclass.domain.roles import Role

SessionType = Literal["teaching", "interview", "coding", "workshop", "lesson"]
ProviderName = Literal[
    "mesh", "janus", "livekit", "daily", "zoom", "jitsi", "meet", "agora", "teams"
]
JoinRole = Literal["co_host", "speaker", "viewer"]

# PostgreSQL text cannot hold NUL characters; refuse them at the edge instead of failing there.
NO_NUL = r"^[^\x00]*$"

Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=200, pattern=NO_NUL)
]
Description = Annotated[str, StringConstraints(max_length=1000, pattern=NO_NUL)]


def _integer_as_text(value: object) -> object:
    # Platforms send their own ids as JSON numbers too (seed 001's `owner_id: 1`); here an
    # id is always its text.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


NO_CONTROL = r"^[^\x00-\x1f\x7f-\x9f]*$"
ExternalId = Annotated[
    str,
    StringConstraints(strip_whitespace=True),
    AfterValidator(validation.external_id),
    BeforeValidator(_integer_as_text),
    WithJsonSchema(
        {
            "anyOf": [
                {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": validation.EXTERNAL_ID_MAX,
                    "pattern": NO_CONTROL,
                },
                {"type": "integer"},
            ],
            "description": "The platform's own id (any text, or an integer taken as its text).",
        }
    ),
]
"""A platform's course, owner, user or booking id, wherever one enters the API."""
Password = Annotated[str, StringConstraints(min_length=4, max_length=128, pattern=NO_NUL)]
Duration = Annotated[int, Field(ge=15, le=480, description="Minutes")]
Capacity = Annotated[int, Field(ge=1, le=1000)]


def _iso_only(value: object) -> object:
    # pydantic reads a bare number as a unix time; the document promises ISO 8601 only.
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+(\.\d*)?([eE][+-]?\d+)?\s*", value):
        raise ValueError("expected an ISO 8601 date or date-time")
    return value


# Every instant that enters the API is one of these two: checked against the years liveclass
# accepts and turned into UTC (validation.utc_instant), so no later step (the database, the
# end of a class) can overflow. Bodies need a zone; a filter without one means UTC.
UtcDateTime = Annotated[
    AwareDatetime, AfterValidator(validation.utc_instant), BeforeValidator(_iso_only)
]
UtcDateTimeFilter = Annotated[
    datetime, AfterValidator(validation.utc_instant), BeforeValidator(_iso_only)
]
SortKey = Literal["scheduled_at", "-scheduled_at", "created_at", "-created_at", "title", "-title"]


class SessionQuery(BaseModel):
    """The filters, sort and page of ``GET /sessions`` (query parameters)."""

    # unknown parameters are ignored, as for every other route
    model_config = ConfigDict(extra="ignore")

    page: int = Field(default=1, ge=1, le=100_000)
    page_size: int = Field(default=20, ge=1, le=100)
    course_id: ExternalId | None = None
    owner_id: ExternalId | None = None
    instructor: ExternalId | None = Field(default=None, description="Alias of owner_id")
    status: SessionStatus | None = None
    session_type: Annotated[str, StringConstraints(max_length=16, pattern=NO_NUL)] | None = None
    is_public: bool | None = None
    from_: UtcDateTimeFilter | None = Field(default=None, alias="from")
    to: UtcDateTimeFilter | None = None
    search: Annotated[str, StringConstraints(max_length=200, pattern=NO_NUL)] | None = None
    sort: SortKey = "scheduled_at"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SessionCreate(_Strict):
    title: Title
    description: Description | None = None
    course_id: ExternalId | None = None
    booking_id: ExternalId | None = Field(
        default=None, description="The platform's booking; one session per booking."
    )
    session_type: SessionType = "lesson"
    scheduled_at: UtcDateTime = Field(description="Start time; must not be in the past.")
    duration: Duration = 60
    max_participants: Capacity = 100
    is_public: bool = True
    is_recorded: bool = False
    waiting_room: bool = False
    password: Password | None = None
    provider: ProviderName | None = Field(default=None, description="Default: DEFAULT_PROVIDER.")
    default_role: JoinRole = Field(default="viewer", description="Role of people who join.")


def _not_null(schema: dict[str, Any]) -> None:
    """Document a PATCH field as omittable but not nullable (the API refuses an explicit null)."""
    options = schema.pop("anyOf", [])
    kept = [o for o in options if o.get("type") != "null"]
    if len(kept) == 1:
        schema.update(kept[0])
    elif kept:
        schema["anyOf"] = kept


_OMITTABLE = Field(default=None, json_schema_extra=_not_null)


class SessionUpdate(_Strict):
    title: Title | None = _OMITTABLE
    description: Description | None = None
    course_id: ExternalId | None = None
    booking_id: ExternalId | None = None
    session_type: SessionType | None = _OMITTABLE
    scheduled_at: UtcDateTime | None = _OMITTABLE
    duration: Duration | None = _OMITTABLE
    max_participants: Capacity | None = _OMITTABLE
    is_public: bool | None = _OMITTABLE
    is_recorded: bool | None = _OMITTABLE
    waiting_room: bool | None = _OMITTABLE
    password: Password | None = Field(default=None, description="null removes the password.")
    provider: ProviderName | None = _OMITTABLE
    default_role: JoinRole | None = _OMITTABLE


NULLABLE_ON_UPDATE = frozenset({"description", "course_id", "booking_id", "password"})


class SessionOut(BaseModel):
    id: uuid.UUID
    title: str
    description: str | None
    course_id: str | None
    booking_id: str | None
    session_type: str
    status: SessionStatus
    scheduled_at: datetime
    duration: int
    max_participants: int
    is_public: bool
    is_recorded: bool
    waiting_room: bool
    has_password: bool
    provider: str
    default_role: str
    owner_id: str
    owner_name: str
    meeting_url: str = Field(
        description="The classroom page, or a hosted provider's meeting link (Daily's room "
        "URL); people get their own way in through join."
    )
    room_url: str | None = Field(
        default=None, description="A hosted provider's meeting link (seed 003's roomUrl)."
    )
    invite_token: str | None = Field(description="Only shown to the host and admins.")
    invite_url: str | None
    started_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    created_at: datetime
    updated_at: datetime
    recording_url: str | None = Field(
        default=None,
        description="A hosted session's newest stored recording (the storage's own URL, "
        "Cloudinary's secure URL); shown when one session is read, not in listings.",
    )
    transcript_url: str | None = Field(
        default=None,
        description="Where a hosted provider keeps the class's transcript (Google Meet's "
        "Google Doc in the organizer's Drive); shown when one session is read, not in "
        "listings.",
    )


class SessionCreatedOut(SessionOut):
    host_token: str | None = Field(
        default=None,
        description="LiveKit sessions only (seed 001): the owner's LiveKit access token for "
        "the session's room, valid LIVEKIT_TOKEN_TTL_SECONDS. For a class that starts later, "
        "the host gets a fresh one by joining (media.access_token).",
    )


class InviteOut(BaseModel):
    invite_token: str
    invite_url: str


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int
    total_pages: int


DisplayName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=validation.DISPLAY_NAME_MAX),
    AfterValidator(validation.display_name),
]


class JoinBody(_Strict):
    session_id: uuid.UUID | None = Field(
        default=None, description="Optional (seed 001 repeats it); must be the path's id."
    )
    invite_token: Annotated[str, StringConstraints(max_length=2048)] | None = None
    password: Annotated[str, StringConstraints(max_length=128)] | None = None
    display_name: DisplayName | None = Field(
        default=None,
        description="The name shown in the class (1-100 characters, trimmed; no control "
        "characters). Default: the name in the platform's token.",
    )


class PermissionsOut(BaseModel):
    can_publish: bool
    can_subscribe: bool
    can_publish_data: bool
    can_share_screen: bool
    room_admin: bool
    can_record: bool


class JoinOut(BaseModel):
    session_id: uuid.UUID
    participant_id: uuid.UUID
    user_id: str
    name: str
    role: Role
    status: ParticipantStatus
    permissions: PermissionsOut
    can_publish: bool = Field(description="permissions.can_publish (seed 001 reads it here).")
    can_subscribe: bool = Field(description="permissions.can_subscribe.")
    access_token: str = Field(
        description="The token to hand, with server_url, to the client that connects there: "
        "on LiveKit sessions LiveKit's access token (seed 001: livekit-client takes "
        "server_url and access_token), otherwise liveclass's realtime token "
        "(realtime_token). Short-lived."
    )
    realtime_token: str = Field(
        description="liveclass's own token for the classroom channel (ws_url: chat, hands, "
        "moderation) and the token refresh; expires at expires_at."
    )
    expires_at: datetime
    ws_url: str = Field(description="The classroom WebSocket of this session.")
    server_url: str = Field(
        description="Where the realtime and media connection goes: ws_url for mesh and "
        "Janus sessions; a media server's own URL for a backend whose clients connect to it "
        "directly (its grant in `media` names it as `server_url`)."
    )
    classroom_url: str
    media: dict[str, object]
    message: str = Field(description="Joined, or waiting for the host to admit you.")


class ParticipantOut(BaseModel):
    id: uuid.UUID
    session_id: uuid.UUID
    user_id: str
    name: str
    role: Role
    status: ParticipantStatus
    first_joined_at: datetime
    last_joined_at: datetime
    left_at: datetime | None
    kicked_at: datetime | None
    connected: bool
    total_seconds: float
    quiz_score: QuizScoreOut = Field(
        default_factory=lambda: QuizScoreOut(correct=0, answered=0),
        description="Right answers and answers given in the session's named quizzes.",
    )


class RoleChange(_Strict):
    role: JoinRole


class AdmitBody(_Strict):
    admit: bool = True


class AttendanceOut(BaseModel):
    participant_id: uuid.UUID
    user_id: str
    name: str
    role: Role
    status: ParticipantStatus
    connected: bool
    total_seconds: float
    first_joined_at: datetime
    left_at: datetime | None


class StatsOut(BaseModel):
    session_id: uuid.UUID
    status: SessionStatus
    current_participants: int = Field(description="Admitted and not left.")
    connected_participants: int = Field(
        description="Connected now: to the classroom, or to the provider's room as its webhooks "
        "report (LiveKit); someone on both counts once."
    )
    peak_participants: int
    total_unique_participants: int
    duration_seconds: float
    attendance: list[AttendanceOut]
    polls: list[PollSummaryOut] = Field(default_factory=list)


# -- polls and quizzes ---------------------------------------------------------------------------


class QuizScoreOut(BaseModel):
    correct: int
    answered: int


class PollSummaryOut(BaseModel):
    id: uuid.UUID
    question: str
    quiz: bool
    total_voters: int


PollText = Annotated[str, StringConstraints(min_length=1, max_length=300, pattern=NO_NUL)]
OptionText = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_NUL)]


class PollCreate(_Strict):
    question: PollText
    options: list[OptionText] = Field(min_length=2, max_length=10)
    multiple: bool = False
    anonymous: bool = False
    quiz: bool = False
    correct: list[Annotated[int, Field(ge=0, le=9)]] = Field(
        default_factory=list, max_length=10, description="Indexes of the correct options (quiz)."
    )
    results_visible: bool = False


class PollOptionOut(BaseModel):
    id: str
    text: str


class PollResultsOut(BaseModel):
    total_voters: int
    counts: dict[str, int]


class PollAnswerOut(BaseModel):
    participant_id: uuid.UUID
    name: str
    options: list[str]
    correct: bool | None


class PollOut(BaseModel):
    id: uuid.UUID
    question: str
    options: list[PollOptionOut]
    multiple: bool
    anonymous: bool
    quiz: bool
    correct: list[str] | None = Field(
        description="Moderators always; others once the poll closed with its results shown."
    )
    status: Literal["draft", "open", "closed"]
    results_visible: bool
    created_at: datetime
    opened_at: datetime | None
    closed_at: datetime | None
    results: PollResultsOut | None = Field(
        description="Moderators always; others while results_visible."
    )
    answers: list[PollAnswerOut] | None = Field(
        description="Named polls, to moderators; anonymous polls have none at all."
    )
