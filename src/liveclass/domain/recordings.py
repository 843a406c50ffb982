"""Recording states: ``starting -> recording -> processing -> ready``, any of them may fail,
and every finished recording may be deleted."""

from __future__ import annotations

import enum

from liveclass.domain.errors import InvalidState


class RecordingState(enum.StrEnum):
    STARTING = "starting"
    RECORDING = "recording"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"
    DELETED = "deleted"


_ALLOWED: dict[RecordingState, frozenset[RecordingState]] = {
    RecordingState.STARTING: frozenset({RecordingState.RECORDING, RecordingState.FAILED}),
    RecordingState.RECORDING: frozenset({RecordingState.PROCESSING, RecordingState.FAILED}),
    RecordingState.PROCESSING: frozenset({RecordingState.READY, RecordingState.FAILED}),
    # A recording in progress must be stopped before it can be deleted, so its files are
    # complete and nothing writes into a deleted recording.
    RecordingState.READY: frozenset({RecordingState.DELETED}),
    RecordingState.FAILED: frozenset({RecordingState.DELETED}),
    RecordingState.DELETED: frozenset(),
}

ACTIVE = frozenset({RecordingState.STARTING, RecordingState.RECORDING})
FINISHED = frozenset({RecordingState.READY, RecordingState.FAILED})


def can_transition(current: RecordingState, target: RecordingState) -> bool:
    return target in _ALLOWED[current]


def check_transition(current: RecordingState, target: RecordingState) -> None:
    """Raise ``InvalidState`` unless ``current -> target`` is a legal step."""
    if not can_transition(current, target):
        raise InvalidState(f"A {current.value} recording cannot become {target.value}.")


def is_active(state: RecordingState) -> bool:
    """True while media is being captured (stop is meaningful)."""
    return state in ACTIVE
