"""The connection pool without pre-ping: connections the server closed are replaced."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import text

from liveclass.db.database import Database
from tests.api.helpers import join, live_session
from tests.conftest import Platform


async def _terminate_others(database_url: str) -> int:
    """pg_terminate_backend on every other connection to our database (a restart's effect)."""
    admin = Database(database_url)
    try:
        async with admin.read() as conn:
            killed = await conn.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
    finally:
        await admin.close()
    return int(killed or 0)


async def test_a_connection_the_server_closed_is_not_handed_out(postgres_url: str) -> None:
    db = Database(postgres_url)
    try:
        async with db.read() as conn:  # one pooled connection, idle afterwards
            assert (await conn.exec_driver_sql("SELECT 1")).scalar() == 1
        assert await _terminate_others(postgres_url) >= 1
        await asyncio.sleep(0.2)  # the event loop reads the server's goodbye
        async with db.read() as conn:
            assert (await conn.exec_driver_sql("SELECT 1")).scalar() == 1
        async with db.write() as conn:
            assert (await conn.exec_driver_sql("SELECT 1")).scalar() == 1
    finally:
        await db.close()


async def test_joins_go_on_after_the_server_closed_every_connection(
    client: httpx.AsyncClient, platform: Platform, database_url: str
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has no server to close connections")
    s = await live_session(client, platform)
    assert (await join(client, platform, s["id"], "student-1")).status_code == 200
    assert await _terminate_others(database_url) >= 1
    await asyncio.sleep(0.2)
    for user in ("student-1", "student-2"):
        r = await join(client, platform, s["id"], user)
        assert r.status_code == 200, r.text
