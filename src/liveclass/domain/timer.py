"""The classroom timer: ``stopped -> running <-> paused -> stopped``, started again at will.

A running timer is an end time (every node and client computes what is left from it); a
paused one keeps the seconds that were left.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from liveclass.domain.errors import InvalidState

MAX_TIMER_SECONDS = 86_400
MAX_LABEL_CHARS = 80


class TimerState(enum.StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class Timer:
    state: TimerState = TimerState.STOPPED
    duration_seconds: int = 0
    label: str = ""
    ends_at: datetime | None = None  # while running
    paused_remaining: float | None = None  # while paused

    def start(self, seconds: int, label: str, now: datetime) -> Timer:
        """Start (or restart) a countdown of ``seconds`` from ``now``."""
        return Timer(TimerState.RUNNING, seconds, label, now + timedelta(seconds=seconds))

    def pause(self, now: datetime) -> Timer:
        self._require(TimerState.RUNNING, "paused")
        return replace(
            self, state=TimerState.PAUSED, ends_at=None, paused_remaining=self.remaining(now)
        )

    def resume(self, now: datetime) -> Timer:
        self._require(TimerState.PAUSED, "resumed")
        left = self.paused_remaining or 0.0
        return replace(
            self,
            state=TimerState.RUNNING,
            ends_at=now + timedelta(seconds=left),
            paused_remaining=None,
        )

    def stop(self) -> Timer:
        if self.state is TimerState.STOPPED:
            raise InvalidState("The timer is not running.")
        return Timer(duration_seconds=self.duration_seconds, label=self.label)

    def remaining(self, now: datetime) -> float:
        if self.state is TimerState.RUNNING and self.ends_at is not None:
            return max(0.0, (self.ends_at - now).total_seconds())
        if self.state is TimerState.PAUSED:
            return self.paused_remaining or 0.0
        return 0.0

    def _require(self, state: TimerState, verb: str) -> None:
        if self.state is not state:
            raise InvalidState(f"A {self.state.value} timer cannot be {verb}.")

    def as_message(self, now: datetime) -> dict[str, Any]:
        """The ``timer`` message's fields (``remaining_seconds`` as of ``now``)."""
        return {
            "state": self.state.value,
            "ends_at": self.ends_at.isoformat() if self.ends_at else None,
            "remaining_seconds": round(self.remaining(now), 3),
            "label": self.label,
            "duration_seconds": self.duration_seconds,
        }

    def stored(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "duration_seconds": self.duration_seconds,
            "label": self.label,
            "ends_at": self.ends_at.isoformat() if self.ends_at else None,
            "paused_remaining": self.paused_remaining,
        }

    @classmethod
    def of(cls, stored: dict[str, Any] | None) -> Timer:
        if not stored:
            return cls()
        """A timer as ``stored`` wrote it, or as a ``timer`` message (``as_message``) says."""
        ends = stored.get("ends_at")
        state = TimerState(stored["state"])
        paused = stored.get("paused_remaining", stored.get("remaining_seconds"))
        return cls(
            state=state,
            duration_seconds=int(stored["duration_seconds"]),
            label=str(stored.get("label", "")),
            ends_at=datetime.fromisoformat(ends) if ends else None,
            paused_remaining=float(paused) if state is TimerState.PAUSED and paused else None,
        )
