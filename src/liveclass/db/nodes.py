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

from sqlalchemy import delete, insert, select, update

from liveclass.db import attendance
from liveclass.db.database import Reader, Statement, Tx
from liveclass.db.records import Build, values_of
from liveclass.db.tables import NODES


@dataclass(frozen=True, slots=True)
class NodeRecord:
    """A node and its heartbeat; ``dead_at`` once another node found it dead."""

    node_id: str
    started_at: datetime
    last_seen_at: datetime
    dead_at: datetime | None


@dataclass(frozen=True, slots=True)
class Heartbeat:
    node_id: str
    last_seen_at: datetime


_node = Build(NodeRecord)
_INSERT = Statement.of(insert(NODES), keys=("node_id", "started_at", "last_seen_at", "dead_at"))


async def beat(tx: Tx, *, node_id: str, at: datetime) -> bool:
    """Record that ``node_id`` is alive at ``at``. False when it was not known alive: a
    first beat, or another node found it dead meanwhile (its attendance is closed)."""
    alive = await tx.run(
        update(NODES)
        .where(NODES.c.node_id == node_id, NODES.c.dead_at.is_(None))
        .values(last_seen_at=at)
    )
    if alive:
        return True
    await tx.run(delete(NODES).where(NODES.c.node_id == node_id))
    await tx.run(_INSERT, values_of(NodeRecord(node_id, at, at, None)))
    return False


async def get_node(db: Reader, *, node_id: str) -> NodeRecord | None:
    return _node.maybe(await db.one(select(NODES).where(NODES.c.node_id == node_id)))


async def last_alive(db: Reader, *, node_id: str) -> datetime | None:
    """When ``node_id`` last beat, unless it was found dead (then nothing is left open)."""
    node = await get_node(db, node_id=node_id)
    return node.last_seen_at if node is not None and node.dead_at is None else None


async def silent_since(db: Reader, *, cutoff: datetime, besides: str) -> list[Heartbeat]:
    """Nodes not found dead yet whose last beat is older than ``cutoff``."""
    rows = await db.all(
        select(NODES.c.node_id, NODES.c.last_seen_at)
        .where(NODES.c.dead_at.is_(None), NODES.c.last_seen_at < cutoff)
        .where(NODES.c.node_id != besides)
    )
    return [Heartbeat(row["node_id"], row["last_seen_at"]) for row in rows]


async def bury(tx: Tx, *, dead: Heartbeat, at: datetime) -> list[uuid.UUID] | None:
    """Mark the node dead and close its open intervals at its last beat. ``None`` when it
    beat again or another node buried it first; else the sessions it had sockets in."""
    claimed = await tx.run(
        update(NODES)
        .where(NODES.c.node_id == dead.node_id, NODES.c.dead_at.is_(None))
        .where(NODES.c.last_seen_at == dead.last_seen_at)
        .values(dead_at=at)
    )
    if not claimed:
        return None
    return await attendance.close_node(tx, node_id=dead.node_id, at=dead.last_seen_at)


async def forget(tx: Tx, *, node_id: str) -> None:
    """A node that stops cleanly has closed its attendance: nobody needs to bury it."""
    await tx.run(delete(NODES).where(NODES.c.node_id == node_id))
