"""The Alembic migrations build exactly the schema the models describe, on both engines."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from liveclass.db.migrate import alembic_config
from liveclass.db.tables import metadata
from tests.api.helpers import join, live_session
from tests.conftest import Platform


def _inspect(conn: Connection) -> tuple[list[Any], set[tuple[str, ...]]]:
    differences = list(compare_metadata(MigrationContext.configure(conn), metadata))
    indexes = {tuple(i["column_names"]) for i in inspect(conn).get_indexes("participants")}
    return differences, indexes  # type: ignore[return-value]


async def test_migrations_match_the_models(database_url: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            differences, indexes = await conn.run_sync(_inspect)
    finally:
        await engine.dispose()
    assert differences == []
    # the listing's visibility check looks participants up by user
    assert ("user_id",) in indexes


async def test_the_seat_counters_are_filled_from_existing_participants(
    client: httpx.AsyncClient, platform: Platform, database_url: str
) -> None:
    """Migration 0004 on a database that already has classes and people in them."""
    s = await live_session(client, platform, default_role="viewer")
    for user in ("student-1", "student-2", "student-3"):
        assert (await join(client, platform, s["id"], user)).status_code == 200
    assert (await join(client, platform, s["id"], "teacher-1")).status_code == 200
    gone = await client.post(
        f"/api/v1/sessions/{s['id']}/leave", headers=platform.auth("student-3", "student")
    )
    assert gone.status_code == 200

    config = alembic_config(database_url)
    await asyncio.to_thread(command.downgrade, config, "0003")
    try:
        engine = create_async_engine(database_url)
        async with engine.connect() as conn:
            columns = await conn.run_sync(
                lambda c: {col["name"] for col in inspect(c).get_columns("live_sessions")}
            )
        await engine.dispose()
        assert "seated_count" not in columns
    finally:
        await asyncio.to_thread(command.upgrade, config, "head")
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT seated_count, publisher_count, joined_count, peak_participants "
                        "FROM live_sessions"
                    )
                )
            ).one()
    finally:
        await engine.dispose()
    # two students still in, the host: seated counts the students, publishing the host
    assert tuple(row) == (2, 1, 3, 4)
