"""Background sweeps of each node: sessions past their slot and empty end, recordings past
retention go, nodes that stopped beating are found dead and their attendance closed, and
hosted providers' recordings and attendance records are fetched when due."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta
from typing import Protocol

from liveclass.control.hosted_attendance import read_due
from liveclass.control.hosted_downloads import download_pending
from liveclass.control.sessions import expire_overdue
from liveclass.db import nodes, provider_events
from liveclass.db.types import utcnow
from liveclass.recording.service import purge_expired
from liveclass.services import Services

log = logging.getLogger(__name__)


class NodeHub(Protocol):
    """What the sweeps need of this node's realtime hub (``realtime.hub.Hub``); named here
    so control does not import realtime, which calls control's use cases."""

    @property
    def node_id(self) -> str: ...

    async def beat(self) -> None: ...

    async def node_gone(self, node_id: str, session_ids: list[uuid.UUID]) -> None: ...


async def expire_forever(services: Services, *, every_seconds: float = 30.0) -> None:
    """Run until cancelled. Several nodes may run it: ending is idempotent."""
    while True:
        await asyncio.sleep(every_seconds)
        try:
            ended = await expire_overdue(services)
        except Exception:  # keep sweeping; one bad pass must not stop the loop
            log.exception("expiry sweep failed")
            continue
        if ended:
            log.info("ended %d expired session(s)", len(ended))


async def purge_recordings_forever(services: Services, *, every_seconds: float = 3600.0) -> None:
    """Delete recordings past RECORDING_RETENTION_DAYS (files and rows), hourly, and the
    provider events kept for de-duplication once no provider redelivers them."""
    while True:
        try:
            purged = await purge_expired(services.recorder)
            await forget_provider_events(services)
        except Exception:  # keep purging on later passes
            log.exception("recording retention pass failed")
        else:
            if purged:
                log.info("deleted %d recording(s) past retention", purged)
        await asyncio.sleep(every_seconds)


async def download_recordings_forever(services: Services, *, every_seconds: float = 60.0) -> None:
    """Retry the hosted providers' recordings whose download failed (or whose node stopped
    while downloading), every minute."""
    while True:
        await asyncio.sleep(every_seconds)
        try:
            await download_pending(services)
        except Exception:  # the provider or the storage may be away; try again next pass
            log.exception("recording download pass failed")


async def read_attendance_forever(services: Services, *, every_seconds: float = 60.0) -> None:
    """Read the attendance records of hosted providers that keep them (Meet, Teams) when a
    read is due after a class's end: the later reads, and those that failed."""
    while True:
        await asyncio.sleep(every_seconds)
        try:
            await read_due(services)
        except Exception:  # the database may be away; try again next pass
            log.exception("attendance read pass failed")


# Providers redeliver a webhook for minutes to hours; a week of event ids is plenty.
PROVIDER_EVENT_RETENTION = timedelta(days=7)


async def forget_provider_events(services: Services) -> int:
    async with services.db.transaction() as tx:
        return await provider_events.forget_before(tx, before=utcnow() - PROVIDER_EVENT_RETENTION)


async def watch_nodes_forever(services: Services, hub: NodeHub) -> None:
    """Beat every NODE_HEARTBEAT_SECONDS and bury the nodes silent for NODE_EXPIRY_SECONDS."""
    while True:
        await asyncio.sleep(services.settings.node_heartbeat_seconds)
        try:
            await hub.beat()
            await bury_dead_nodes(services, hub)
        except Exception:  # the database may be away for a moment; beat again later
            log.exception("node heartbeat failed")


async def bury_dead_nodes(services: Services, hub: NodeHub) -> list[str]:
    """Close what silent nodes left open as of their last beat, drop their sockets from the
    rooms, and end the overdue classes that nobody is in any more. Several nodes may run
    it: each dead node is buried by one."""
    now = utcnow()
    cutoff = now - timedelta(seconds=services.settings.node_expiry_seconds)
    async with services.db.transaction() as tx:
        silent = await nodes.silent_since(tx, cutoff=cutoff, besides=hub.node_id)
    buried: list[str] = []
    for dead in silent:
        async with services.db.transaction() as tx:
            sessions = await nodes.bury(tx, dead=dead, at=now)
        if sessions is None:
            continue
        log.warning("node %s dead since %s: its attendance closed", dead.node_id, dead.last_seen_at)
        await hub.node_gone(dead.node_id, sessions)
        buried.append(dead.node_id)
    if buried:
        # The dead node's people were what kept its overdue classes going.
        await expire_overdue(services)
    return buried
