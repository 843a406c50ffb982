"""The Alembic migrations build exactly the schema the models describe, on both engines."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import create_async_engine

from liveclass.db.tables import Base


def _inspect(conn: Connection) -> tuple[list[Any], set[tuple[str, ...]]]:
    differences = list(compare_metadata(MigrationContext.configure(conn), Base.metadata))
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
