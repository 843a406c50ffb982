"""What each recipient is shown of a poll.

A poll's whole state (``control.polls.poll_state``: everything, as moderators see it) goes
to every node of the room; each cuts it down per socket with a ``Rendering``. Anonymous
choices are never stored: only the voter who sent one hears it back (``answered``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from liveclass.domain.polls import PollStatus, shows_correct, shows_results, voter_key

Poll = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who a poll is rendered for."""

    moderator: bool
    participant_id: uuid.UUID | None = None


class Rendering:
    """One poll state as each recipient may see it: the two role views and the lookup of
    answers built once, however many sockets it goes to. ``secret`` is the server's, which
    keys the anonymous voters (``voter_key``)."""

    def __init__(self, secret: str, state: dict[str, Any]) -> None:
        self._secret = secret
        self._full: Poll = state["poll"]
        self._answers = {a["participant_id"]: a["options"] for a in self._full["answers"] or ()}
        self._ballots = frozenset(state.get("ballots", ()))
        self._echo: dict[str, Any] = state.get("answered") or {}
        self._student = self._student_view()

    def view(self, *, moderator: bool) -> Poll:
        return self._full if moderator else self._student

    def _student_view(self) -> Poll:
        full, view = self._full, dict(self._full)
        view["answers"] = None
        if not shows_results(moderator=False, results_visible=full["results_visible"]):
            view["results"] = None
        status = PollStatus(full["status"])
        if not shows_correct(
            moderator=False, status=status, results_visible=full["results_visible"]
        ):
            view["correct"] = None
        return view

    def you(self, participant_id: uuid.UUID | None) -> dict[str, Any] | None:
        """The recipient's own answer, or None when they have not answered."""
        if participant_id is None:
            return None
        pid = str(participant_id)
        if not self._full["anonymous"]:
            options = self._answers.get(pid)
            return None if options is None else {"options": options}
        key = voter_key(self._secret, uuid.UUID(self._full["id"]), participant_id)
        if key not in self._ballots:
            return None
        # the server keeps no anonymous choice; only its sender hears it back, once
        mine = self._echo.get("participant_id") == pid
        return {"options": self._echo.get("options") if mine else None}

    def message(self, viewer: Viewer) -> dict[str, Any]:
        """``{poll, you}`` for ``viewer``."""
        return {
            "poll": self.view(moderator=viewer.moderator),
            "you": self.you(viewer.participant_id),
        }


def for_audience(secret: str, state: dict[str, Any], viewer: Viewer) -> dict[str, Any]:
    """The poll of ``state`` as ``viewer`` may see it, with their own answer as ``you``."""
    return Rendering(secret, state).message(viewer)


def shown_to(status: str, results_visible: bool, *, moderator: bool) -> bool:
    """Which polls a participant is shown (welcome, lists): moderators see them all; others
    the open ones and the closed ones whose results are out."""
    if moderator:
        return True
    return status == PollStatus.OPEN or (status == PollStatus.CLOSED and results_visible)
