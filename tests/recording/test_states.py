from __future__ import annotations

import pytest

from liveclass.domain.errors import InvalidState
from liveclass.domain.recordings import RecordingState as S
from liveclass.domain.recordings import can_transition, check_transition, is_active

LEGAL = [
    (S.STARTING, S.RECORDING),
    (S.STARTING, S.FAILED),
    (S.RECORDING, S.PROCESSING),
    (S.RECORDING, S.FAILED),
    (S.PROCESSING, S.READY),
    (S.PROCESSING, S.FAILED),
    (S.READY, S.DELETED),
    (S.FAILED, S.DELETED),
]


@pytest.mark.parametrize(("current", "target"), LEGAL)
def test_legal_steps(current: S, target: S) -> None:
    check_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [(a, b) for a in S for b in S if (a, b) not in LEGAL],
)
def test_every_other_step_raises(current: S, target: S) -> None:
    assert not can_transition(current, target)
    with pytest.raises(InvalidState, match=f"{current.value} recording cannot become"):
        check_transition(current, target)


def test_only_capturing_states_are_active() -> None:
    assert {s for s in S if is_active(s)} == {S.STARTING, S.RECORDING}
