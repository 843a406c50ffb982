"""Ends live sessions that are past their slot and empty, in the background of each node."""

from __future__ import annotations

import asyncio
import logging

from liveclass.control.sessions import expire_overdue
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
