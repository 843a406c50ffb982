"""The nodes of a deployment and their heartbeats.

Each node writes ``last_seen_at`` every few seconds. A node that stopped (killed, its host
gone) is found dead by another node once its beat is older than the expiry; that node marks
it ``dead_at`` and closes the attendance it left open at ``last_seen_at``, the last moment
it is known to have served its sockets. Clocks of the nodes are compared with each other,
so they must agree to well within the expiry (NTP does).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update

from liveclass.db import attendance
from liveclass.db.database import Transaction
from liveclass.db.tables import NodeRow


@dataclass(frozen=True, slots=True)
class Heartbeat:
    node_id: str
    last_seen_at: datetime


async def beat(tx: Transaction, *, node_id: str, at: datetime) -> bool:
    """Record that ``node_id`` is alive at ``at``. False when it was not known alive: a
    first beat, or another node found it dead meanwhile (its attendance is closed)."""
    result = await tx.orm.execute(
        update(NodeRow)
        .where(NodeRow.node_id == node_id, NodeRow.dead_at.is_(None))
        .values(last_seen_at=at)
    )
    if result.rowcount:  # type: ignore[attr-defined]
        return True
    await tx.orm.execute(delete(NodeRow).where(NodeRow.node_id == node_id))
    tx.orm.add(NodeRow(node_id=node_id, started_at=at, last_seen_at=at))
    return False


async def last_alive(tx: Transaction, *, node_id: str) -> datetime | None:
    """When ``node_id`` last beat, unless it was found dead (then nothing is left open)."""
    row = await tx.orm.get(NodeRow, node_id)
    return row.last_seen_at if row is not None and row.dead_at is None else None


async def silent_since(tx: Transaction, *, cutoff: datetime, besides: str) -> list[Heartbeat]:
    """Nodes not found dead yet whose last beat is older than ``cutoff``."""
    rows = await tx.orm.execute(
        select(NodeRow.node_id, NodeRow.last_seen_at)
        .where(NodeRow.dead_at.is_(None), NodeRow.last_seen_at < cutoff)
        .where(NodeRow.node_id != besides)
    )
    return [Heartbeat(node_id, seen) for node_id, seen in rows]


async def bury(tx: Transaction, dead: Heartbeat, *, at: datetime) -> list[uuid.UUID] | None:
    """Mark the node dead and close its open intervals at its last beat. ``None`` when it
    beat again or another node buried it first; else the sessions it had sockets in."""
    claimed = await tx.orm.execute(
        update(NodeRow)
        .where(NodeRow.node_id == dead.node_id, NodeRow.dead_at.is_(None))
        .where(NodeRow.last_seen_at == dead.last_seen_at)
        .values(dead_at=at)
    )
    if not claimed.rowcount:  # type: ignore[attr-defined]
        return None
    return await attendance.close_node(tx, node_id=dead.node_id, at=dead.last_seen_at)


async def forget(tx: Transaction, *, node_id: str) -> None:
    """A node that stops cleanly has closed its attendance: nobody needs to bury it."""
    await tx.orm.execute(delete(NodeRow).where(NodeRow.node_id == node_id))
