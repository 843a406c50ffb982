"""The database handle: one async engine, transactions as context managers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ClauseElement, event, text
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util import greenlet_spawn

Transaction = AsyncSession
# Statements without the ORM, for the hot paths (join, list): rows come back as records.
Connection = AsyncConnection

# PostgreSQL connections older than this are replaced at checkout (see _check_alive).
RECYCLE_SECONDS = 1800


class Database:
    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30}
        else:
            # The same 40-connection ceiling as before, all kept: overflow connections are
            # closed on return, so steady load above the pool size opened and closed a
            # PostgreSQL connection per request.
            kwargs.update(pool_size=40, max_overflow=0, pool_recycle=RECYCLE_SECONDS)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            _make_sqlite_serializable(self.engine)
            self._reader = self.engine
        else:
            _check_alive(self.engine)
            # one statement reads one snapshot by itself: no BEGIN and COMMIT round trips
            self._reader = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """A unit of work: commits on success, rolls back on any exception."""
        async with self._sessions() as tx, tx.begin():
            yield tx

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Connection]:
        """A connection for reads that need no transaction around them: each statement
        sees its own consistent snapshot (SQLite still reads inside one transaction)."""
        async with self._reader.connect() as conn:
            yield conn

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Reader]:
        """A connection for the hot single-statement reads (join, refresh, list).

        On PostgreSQL the asyncpg connection itself, checked out of the engine's pool
        without a SQLAlchemy connection around it (the same pool, checkout check and
        recycling; no transaction is begun, each statement is its own snapshot). On SQLite
        a Core connection as ``read()`` gives.
        """
        if self.is_sqlite:
            async with self._reader.connect() as conn:
                yield Reader(conn, None)
            return
        pooled = await greenlet_spawn(self.engine.sync_engine.raw_connection)
        try:
            yield Reader(None, pooled.driver_connection)
        finally:
            await greenlet_spawn(pooled.close)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Connection]:
        """A transaction for Core statements: commits on success, rolls back on any exception."""
        async with self.engine.begin() as conn:
            yield conn

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self.engine.dispose()


@dataclass(frozen=True, slots=True)
class Native:
    """A Core statement compiled once for asyncpg: its SQL and its parameters' order."""

    sql: str
    names: tuple[str, ...]

    @classmethod
    def of(cls, statement: ClauseElement) -> Native:
        compiled = statement.compile(dialect=asyncpg_dialect())  # type: ignore[no-untyped-call]
        return cls(compiled.string, tuple(getattr(compiled, "positiontup", None) or ()))

    def args(self, values: dict[str, Any]) -> list[Any]:
        return [values[name] for name in self.names]


@dataclass(frozen=True, slots=True)
class Reader:
    """What ``Database.reader()`` gives: a Core connection (SQLite) or the asyncpg one.

    On PostgreSQL the hot reads run their statement on ``driver`` directly: SQLAlchemy's
    execution and result layers cost more CPU than the query. asyncpg keeps each statement
    prepared per connection (its statement cache, keyed by the SQL), and the types come back
    as through SQLAlchemy (its asyncpg dialect installs the JSON codecs on the connection,
    UUIDs and timestamptz values pass through it unchanged).
    """

    conn: Connection | None
    driver: Any | None

    @property
    def core(self) -> Connection:
        """The Core connection (SQLite)."""
        assert self.conn is not None
        return self.conn


def _check_alive(engine: AsyncEngine) -> None:
    # Instead of pool_pre_ping, which costs three round trips (BEGIN, a ping, ROLLBACK) on
    # every checkout: asyncpg notices a connection the server closed (a restart, an
    # administrator's terminate) as soon as the socket does, so a closed one is dropped
    # here and the pool hands out another (DisconnectionError makes the pool retry).
    # pool_recycle bounds the age of the rest; a connection that dies mid-request fails
    # that request and SQLAlchemy invalidates it, as it would after a successful pre-ping.
    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(_dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        if record.driver_connection is None or record.driver_connection.is_closed():
            raise DisconnectionError("the PostgreSQL connection was closed")


def _make_sqlite_serializable(engine: AsyncEngine) -> None:
    # pysqlite's own BEGIN handling is deferred; a seat count followed by an insert must
    # hold the write lock from the start, or two joins could both see a free seat.
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
