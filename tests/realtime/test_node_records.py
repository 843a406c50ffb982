"""The records behind dead-node detection: migration 0005 and the heartbeat settings."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from alembic import command
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy import select

from liveclass.db import attendance
from liveclass.db.migrate import alembic_config
from liveclass.db.tables import ATTENDANCE_INTERVALS
from liveclass.services import Services
from tests.api.helpers import join, live_session
from tests.conftest import Platform, make_settings


async def test_migration_0005_gives_existing_intervals_their_node(
    app: FastAPI, client: httpx.AsyncClient, platform: Platform, database_url: str
) -> None:
    services: Services = app.state.services
    session = await live_session(client, platform)
    joined = (await join(client, platform, session["id"], "student-1")).json()
    async with services.db.transaction() as tx:
        for connection_id in ("old-host:8000/4c0ffee", "no-node-in-it"):
            await attendance.open_interval(
                tx,
                session_id=uuid.UUID(session["id"]),
                participant_id=uuid.UUID(joined["participant_id"]),
                connection_id=connection_id,
            )
    config = alembic_config(database_url)
    await asyncio.to_thread(command.downgrade, config, "0004")
    await asyncio.to_thread(command.upgrade, config, "head")

    async with services.db.transaction() as tx:
        rows = await tx.all(
            select(ATTENDANCE_INTERVALS.c.connection_id, ATTENDANCE_INTERVALS.c.node_id)
        )
        nodes = {row["connection_id"]: row["node_id"] for row in rows}
    assert nodes == {"old-host:8000/4c0ffee": "old-host:8000", "no-node-in-it": ""}


@pytest.mark.parametrize(("beat", "expiry"), [(5, 9.9), (1, 0.5)])
def test_a_node_is_not_dead_before_two_beats_are_missed(beat: float, expiry: float) -> None:
    with pytest.raises(ValidationError, match="NODE_EXPIRY_SECONDS"):
        make_settings(
            "sqlite+aiosqlite:///x.db", node_heartbeat_seconds=beat, node_expiry_seconds=expiry
        )
