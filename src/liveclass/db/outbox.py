"""The outbox: events for the platform, written in the transaction of the change itself."""

from __future__ import annotations

import uuid
from typing import Any

from liveclass.db.database import Transaction
from liveclass.db.tables import OutboxEventRow


def record_event(
    tx: Transaction, event_type: str, *, session_id: uuid.UUID | None, payload: dict[str, Any]
) -> None:
    tx.add(OutboxEventRow(event_type=event_type, session_id=session_id, payload=payload))
