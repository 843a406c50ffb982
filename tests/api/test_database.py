"""The connection pools without pre-ping: connections the server closed are replaced;
the hot paths' asyncpg connections are bounded, recycled, closed, and decode as SQLAlchemy's."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import literal, select, text

from liveclass.db import database
from liveclass.db.database import Database
from tests.api.helpers import join, live_session
from tests.conftest import Platform


async def _terminate_others(database_url: str) -> int:
    """pg_terminate_backend on every other connection to our database (a restart's effect)."""
    admin = Database(database_url)
    try:
        async with admin.engine.connect() as conn:
            killed = await conn.scalar(
                text(
                    # the timeout (ms) waits until each backend has exited, so its goodbye
                    # is on the socket when this returns, however loaded the machine is
                    "SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
    finally:
        await admin.close()
    return int(killed or 0)


async def test_a_connection_the_server_closed_is_not_handed_out(postgres_url: str) -> None:
    db = Database(postgres_url)
    try:
        async with db.transaction() as tx:  # one pooled connection, idle afterwards
            assert await tx.value(select(literal(1))) == 1
        assert await _terminate_others(postgres_url) >= 1
        await asyncio.sleep(0.2)  # the event loop reads the server's goodbye
        async with db.transaction() as tx:
            assert await tx.value(select(literal(1))) == 1
        await db.ping()
    finally:
        await db.close()


async def test_postgresql_statements_all_go_through_one_pool(postgres_url: str) -> None:
    """Readers and transactions share the DriverPool: the engine opens no connection."""
    db = Database(postgres_url)
    try:
        async with db.reader() as conn, db.transaction() as tx:
            assert conn.driver is not None and tx.driver is not None
            assert conn.driver is not tx.driver
        assert db.engine.pool.status() == "NullPool"
    finally:
        await db.close()


async def test_the_hot_paths_get_no_connection_the_server_closed(postgres_url: str) -> None:
    db = Database(postgres_url)
    try:
        async with db.reader() as one, db.reader() as two:  # two idle afterwards
            assert one.driver is not None and two.driver is not None
            before = {
                await one.driver.fetchval("SELECT pg_backend_pid()"),
                await two.driver.fetchval("SELECT pg_backend_pid()"),
            }
        assert await _terminate_others(postgres_url) >= 2
        await asyncio.sleep(0.2)
        async with db.reader() as conn:
            assert conn.driver is not None
            assert await conn.driver.fetchval("SELECT pg_backend_pid()") not in before
        assert await _terminate_others(postgres_url) >= 1
        await asyncio.sleep(0.2)
        async with db.transaction() as tx:
            assert tx.driver is not None
            assert await tx.driver.fetchval("SELECT pg_backend_pid()") not in before
    finally:
        await db.close()


async def _pid(db: Database) -> int:
    async with db.reader() as conn:
        assert conn.driver is not None
        return int(await conn.driver.fetchval("SELECT pg_backend_pid()"))


async def _open_pids(postgres_url: str, pids: set[int]) -> set[int]:
    """Which of these backends still run."""
    admin = Database(postgres_url)
    try:
        async with admin.engine.connect() as conn:
            rows = await conn.execute(text("SELECT pid FROM pg_stat_activity"))
            return pids & {int(pid) for (pid,) in rows}
    finally:
        await admin.close()


async def test_hot_path_connections_are_recycled(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "RECYCLE_SECONDS", 0.3)
    db = Database(postgres_url)
    try:
        first = await _pid(db)
        assert await _pid(db) == first  # kept while young
        await asyncio.sleep(0.4)
        second = await _pid(db)
        assert second != first
        assert await _open_pids(postgres_url, {first}) == set()  # closed, not leaked
    finally:
        await db.close()


async def test_hot_path_connections_are_bounded(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "DRIVER_POOL_SIZE", 2)
    db = Database(postgres_url)
    release = asyncio.Event()
    pids: set[int] = set()

    async def hold() -> None:
        pids.add(await _pid(db))
        async with db.reader() as conn:
            assert conn.driver is not None
            pids.add(await conn.driver.fetchval("SELECT pg_backend_pid()"))
            await release.wait()

    try:
        holders = [asyncio.create_task(hold()) for _ in range(2)]
        await asyncio.sleep(0.2)
        third = asyncio.create_task(_pid(db))
        await asyncio.sleep(0.2)
        assert not third.done()  # waits for a connection rather than opening a third
        release.set()
        await asyncio.gather(*holders)
        pids.add(await third)
        assert len(pids) == 2
    finally:
        await db.close()


async def test_close_closes_the_hot_path_connections(postgres_url: str) -> None:
    db = Database(postgres_url)
    idle = await _pid(db)
    async with db.reader() as conn:  # checked out while the database closes
        assert conn.driver is not None
        busy = int(await conn.driver.fetchval("SELECT pg_backend_pid()"))
        await db.close()
        assert await _open_pids(postgres_url, {idle, busy}) == {busy}
        assert await conn.driver.fetchval("SELECT 1") == 1  # its user is not cut off
    await asyncio.sleep(0.2)
    assert await _open_pids(postgres_url, {idle, busy}) == set()


async def test_a_cancelled_read_does_not_hand_on_its_connection(postgres_url: str) -> None:
    db = Database(postgres_url)
    try:
        pid = await _pid(db)

        async def slow() -> None:
            async with db.reader() as conn:
                assert conn.driver is not None
                await conn.driver.execute("SELECT pg_sleep(5)")

        with pytest.raises(TimeoutError):
            await asyncio.wait_for(slow(), timeout=0.3)
        assert await _pid(db) != pid
    finally:
        await db.close()


async def test_a_failed_transaction_rolls_back_and_keeps_its_connection(postgres_url: str) -> None:
    db = Database(postgres_url)
    try:
        pid = await _pid(db)

        async def fail() -> None:
            async with db.transaction() as tx:
                assert tx.driver is not None
                await tx.driver.execute("CREATE TEMPORARY TABLE t (x int)")
                raise LookupError  # e.g. the session is full

        with pytest.raises(LookupError):
            await fail()
        async with db.transaction() as tx:
            assert tx.driver is not None
            assert await tx.driver.fetchval("SELECT pg_backend_pid()") == pid
            assert await tx.driver.fetchval("SELECT to_regclass('pg_temp.t')") is None
    finally:
        await db.close()


async def test_hot_path_values_decode_as_through_sqlalchemy(postgres_url: str) -> None:
    query = (
        'SELECT CAST(\'{"a": [1, 2.5, null, "\u00e9"]}\' AS json), '
        'CAST(\'{"b": {"c": true}}\' AS jsonb), '
        "CAST('6f1c1e5e-8a4b-4a3e-9d0b-8f3c2a1b0c9d' AS uuid), "
        "CAST('2024-05-06 07:08:09.123456+02' AS timestamptz)"
    )
    db = Database(postgres_url)
    try:
        async with db.reader() as hot:
            assert hot.driver is not None
            native = tuple(await hot.driver.fetchrow(query))
        async with db.engine.connect() as conn:
            core = tuple((await conn.exec_driver_sql(query)).one())
    finally:
        await db.close()
    assert native == core
    assert [type(v) for v in native] == [type(v) for v in core]
    assert native[0] == {"a": [1, 2.5, None, "é"]}
    assert native[1] == {"b": {"c": True}}
    assert native[2] == uuid.UUID("6f1c1e5e-8a4b-4a3e-9d0b-8f3c2a1b0c9d")
    assert native[3] == datetime(2024, 5, 6, 5, 8, 9, 123456, tzinfo=UTC)
    assert native[3].utcoffset() is not None


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
