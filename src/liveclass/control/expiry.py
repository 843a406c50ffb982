"""Ends live sessions that are past their slot and empty, in the background of each node."""

from __future__ import annotations

import asyncio
import logging

from liveclass.control.sessions import expire_overdue
from liveclass.recording.service import purge_expired
from liveclass.services import Services

log = logging.getLogger(__name__)


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
    """Delete recordings past RECORDING_RETENTION_DAYS (files and rows), hourly."""
    while True:
        try:
            purged = await purge_expired(services)
        except Exception:  # keep purging on later passes
            log.exception("recording retention pass failed")
        else:
            if purged:
                log.info("deleted %d recording(s) past retention", purged)
        await asyncio.sleep(every_seconds)
