"""The database handle and the one seam every statement goes through.

``Database.reader()`` and ``Database.transaction()`` give a ``Reader`` (a ``Tx`` for a
transaction): it runs a ``Statement`` (or a Core query built on the spot) on the engine's
own connection, a Core connection on SQLite, a bare asyncpg one on PostgreSQL, and hands
rows back as mappings by column name. What differs between the two engines stays here."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import (
    ClauseElement,
    Delete,
    Executable,
    Insert,
    Select,
    Table,
    Update,
    event,
    literal,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.compiler import SQLCompiler

Connection = AsyncConnection
Row = Mapping[str, Any]
"""A row by column name: asyncpg's Record on PostgreSQL, SQLAlchemy's RowMapping on SQLite."""
Query = Select[Any] | Update | Insert | Delete

# PostgreSQL connections older than this are replaced at checkout (DriverPool).
RECYCLE_SECONDS = 1800
# At most this many PostgreSQL connections per Database (the 40 of before, when
# SQLAlchemy's pool held half of them): every statement goes through this one pool.
DRIVER_POOL_SIZE = 40


class Database:
    """One pool per engine: on SQLite the engine's own (Core connections); on PostgreSQL a
    ``DriverPool`` of bare asyncpg connections, the engine kept only for its dialect (the
    URL's connect arguments, its JSON codecs) and opening no connection of its own."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self._drivers: DriverPool | None = None
        if self.is_sqlite:
            self.engine: AsyncEngine = create_async_engine(
                url, echo=echo, connect_args={"timeout": 30}
            )
            _make_sqlite_serializable(self.engine)
        else:
            self.engine = create_async_engine(url, echo=echo, poolclass=NullPool)
            self._drivers = DriverPool(
                _driver_connector(self.engine), size=DRIVER_POOL_SIZE, recycle=RECYCLE_SECONDS
            )

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Reader]:
        """A connection for reads that need no transaction around them: each statement
        sees its own consistent snapshot (SQLite still reads inside one transaction).

        On PostgreSQL an asyncpg connection of the ``DriverPool`` (no transaction is
        begun: each statement is its own snapshot). On SQLite a Core connection.
        """
        if self._drivers is None:
            async with self.engine.connect() as conn:
                yield Reader(conn, None)
            return
        pooled = await self._drivers.acquire()
        done = False
        try:
            yield Reader(None, pooled.driver)
            done = True
        finally:
            # a statement that failed or was cancelled may leave the connection mid-query
            self._drivers.release(pooled, reusable=done)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """A unit of work: commits on success, rolls back on any exception.

        On PostgreSQL ``BEGIN`` ... ``COMMIT`` on an asyncpg connection of the
        ``DriverPool``; on SQLite a Core transaction (BEGIN IMMEDIATE).
        """
        if self._drivers is None:
            async with self.engine.begin() as conn:
                yield Tx(conn, None)
            return
        pooled = await self._drivers.acquire()
        driver = pooled.driver
        reusable = False
        try:
            # READ COMMITTED spelled out: the join counts rely on each statement taking its
            # own snapshot (what SQLAlchemy's asyncpg dialect begins too)
            await driver.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
            try:
                yield Tx(None, driver)
            except Exception:
                await driver.execute("ROLLBACK")
                reusable = True
                raise
            await driver.execute("COMMIT")
            reusable = True
        finally:
            # cancelled mid-statement, or a failed BEGIN, ROLLBACK or COMMIT: the connection
            # is in doubt, so it is terminated (the server rolls back what it held)
            self._drivers.release(pooled, reusable=reusable)

    async def ping(self) -> None:
        async with self.reader() as conn:
            await conn.value(select(literal(1)))

    async def close(self) -> None:
        if self._drivers is not None:
            await self._drivers.close()
        await self.engine.dispose()


_DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]


@dataclass(frozen=True, slots=True)
class Native:
    """A Core statement compiled once for asyncpg: its SQL and its parameters' order.

    ``args`` sends each value through its column type's bind processing, as SQLAlchemy's
    execution would (a JSON value becomes its text, which the dialect's JSON codec on the
    connection encodes). Parameters the statement carries a value for (a ``literal()``)
    are filled from the statement. ``keys`` are the columns an INSERT or UPDATE is
    compiled with: a column with a client-side default that is not among them shows up as
    a parameter too, so ``args`` refuses to run without its value instead of skipping it.
    """

    sql: str
    names: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]
    fixed: Mapping[str, Any]
    plain: bool  # no value to process or fill: ``args`` only orders them

    @classmethod
    def of(cls, statement: ClauseElement, *, keys: tuple[str, ...] | None = None) -> Native:
        compiled = statement.compile(
            dialect=_DIALECT,
            column_keys=None if keys is None else list(keys),
            # a query built on the spot may hold in_() of a list: one parameter per item
            compile_kwargs={"render_postcompile": True},
        )
        assert isinstance(compiled, SQLCompiler)
        names = tuple(compiled.positiontup or ())
        params = compiled.params
        processors: list[Callable[[Any], Any] | None] = []
        fixed: dict[str, Any] = {}
        for name in names:
            bind = compiled.binds.get(name)
            if bind is None:
                # one item of an expanded in_() list: its value is fixed in the statement
                processors.append(None)
                fixed[name] = params[name]
                continue
            process = bind.type.dialect_impl(_DIALECT).bind_processor(_DIALECT)
            processors.append(process)
            if not bind.required:
                # a value the statement carries (a query built on the spot), None included
                value = bind.effective_value
                fixed[name] = value if process is None or value is None else process(value)
        plain = not fixed and not any(processors)
        return cls(compiled.string, names, tuple(processors), fixed, plain)

    def args(self, values: Mapping[str, Any]) -> list[Any]:
        if self.plain:
            return [values[name] for name in self.names]
        fixed = self.fixed
        return [
            fixed[name]
            if name in fixed
            else values[name]
            if process is None
            else process(values[name])
            for name, process in zip(self.names, self.processors, strict=True)
        ]


class UniqueClash(Exception):
    """A statement would have broken a unique key (nothing of it was written)."""


@dataclass(frozen=True, slots=True)
class Statement:
    """A Core statement and its asyncpg form, both built once: a ``Reader`` runs the one
    that fits its engine. ``core_postgresql`` is the Core form for a PostgreSQL Core
    connection (a ``transaction()``), where it differs from SQLite's (``insert_new``)."""

    core: Executable
    native: Native
    # where the Core form differs on PostgreSQL (an ON CONFLICT clause is per dialect)
    core_postgresql: Executable | None = None

    @classmethod
    def of(cls, statement: Query, *, keys: tuple[str, ...] | None = None) -> Statement:
        return cls(statement, Native.of(statement, keys=keys))

    def core_for(self, conn: Connection) -> Executable:
        if self.core_postgresql is not None and conn.dialect.name == "postgresql":
            return self.core_postgresql
        return self.core

    @classmethod
    def insert_new(cls, table: Table, *, keys: tuple[str, ...]) -> Statement:
        """An INSERT of every column in ``keys`` that skips a row clashing with a unique
        key (``ON CONFLICT DO NOTHING``): ``run`` answers 0 for it, not an error."""
        pg = postgresql.insert(table).on_conflict_do_nothing()
        lite = sqlite.insert(table).on_conflict_do_nothing()
        return cls(lite, Native.of(pg, keys=keys), pg)


def _statement(query: Statement | Query) -> Statement:
    # a query built on the spot (a filter's WHERE, an IN list) is compiled for this call
    return query if isinstance(query, Statement) else Statement.of(query)


@dataclass(frozen=True, slots=True)
class Reader:
    """What ``Database.reader()`` gives: a Core connection (SQLite) or the asyncpg one.

    On PostgreSQL statements run on ``driver`` directly: SQLAlchemy's execution and result
    layers cost more CPU than the query. asyncpg keeps each statement prepared per
    connection (its statement cache, keyed by the SQL), and the types come back as through
    SQLAlchemy (the connection has its asyncpg dialect's JSON codecs, see
    ``_driver_connector``; UUIDs and timestamptz values pass through it unchanged).

    Rows come back as mappings by column name (``Row``); records are built from them by
    name (``liveclass.db.records``).
    """

    conn: Connection | None
    driver: Any | None

    @property
    def core(self) -> Connection:
        """The Core connection (SQLite)."""
        assert self.conn is not None
        return self.conn

    async def one(
        self, query: Statement | Query, values: Mapping[str, Any] | None = None
    ) -> Row | None:
        """The first row, or None."""
        st = _statement(query)
        args = values or {}
        if self.driver is not None:
            row: Row | None = await self.driver.fetchrow(st.native.sql, *st.native.args(args))
            return row
        result = await self.core.execute(st.core_for(self.core), args)
        first: Row | None = result.mappings().first()  # type: ignore[assignment]
        return first  # a RowMapping: its keys are the column names

    async def all(
        self, query: Statement | Query, values: Mapping[str, Any] | None = None
    ) -> list[Row]:
        st = _statement(query)
        args = values or {}
        if self.driver is not None:
            rows: list[Row] = await self.driver.fetch(st.native.sql, *st.native.args(args))
            return rows
        found: Any = (await self.core.execute(st.core_for(self.core), args)).mappings().all()
        return list(found)

    async def value(self, query: Statement | Query, values: Mapping[str, Any] | None = None) -> Any:
        """The first column of the first row, or None."""
        st = _statement(query)
        args = values or {}
        if self.driver is not None:
            return await self.driver.fetchval(st.native.sql, *st.native.args(args))
        return (await self.core.execute(st.core_for(self.core), args)).scalar()

    async def run(self, query: Statement | Query, values: Mapping[str, Any] | None = None) -> int:
        """Execute a write; the number of rows it touched."""
        st = _statement(query)
        args = values or {}
        if self.driver is not None:
            status: str = await self.driver.execute(st.native.sql, *st.native.args(args))
            # asyncpg gives the command tag: "UPDATE 1", "INSERT 0 1"
            return int(status.rsplit(" ", 1)[-1])
        result: Any = await self.core.execute(st.core_for(self.core), args)
        return int(result.rowcount)

    async def run_native(self, native: Native, values: Mapping[str, Any]) -> Any:
        """A PostgreSQL-only statement (data-modifying CTEs); its first column.
        ``UniqueClash`` when it would break a unique key."""
        assert self.driver is not None, "PostgreSQL only"
        try:
            return await self.driver.fetchval(native.sql, *native.args(values))
        except asyncpg.UniqueViolationError as exc:
            raise UniqueClash(str(exc)) from exc

    @property
    def on_postgresql(self) -> bool:
        return self.driver is not None


@dataclass(frozen=True, slots=True)
class Tx(Reader):
    """What ``Database.transaction()`` gives: a Reader inside a transaction."""


@dataclass(slots=True)
class Pooled:
    """A connection of the ``DriverPool`` and what the pool knows about it."""

    driver: Any  # asyncpg.Connection
    born: float  # time.monotonic() at connect
    generation: int  # the pool's generation at connect (``close()`` starts a new one)


class DriverPool:
    """asyncpg connections for the hot paths, beside SQLAlchemy's pool.

    A checkout is a pop from the idle stack: no greenlet, no reset query (the hot paths
    change no session state: single statements in autocommit, or a transaction that ends
    in COMMIT or ROLLBACK before the connection comes back). The guarantees are those of
    the engine's pool with ``_check_alive``:

    - at most ``size`` connections are open (checked out plus idle); more callers wait;
    - a connection the server closed is never handed out: asyncpg marks it closed as soon
      as the event loop reads the socket's end, and a checkout skips it;
    - a connection older than ``recycle`` seconds is closed at checkout and replaced;
    - a connection returned in doubt (``reusable=False``), closed, or still inside a
      transaction is terminated, not kept;
    - ``close()`` closes the idle connections; those checked out then are closed when
      they come back. Checkouts after it open new ones, as an engine does after dispose.
    """

    def __init__(self, connect: Callable[[], Awaitable[Any]], *, size: int, recycle: float) -> None:
        self._connect = connect
        self._recycle = recycle
        self._slots = asyncio.Semaphore(size)
        self._idle: list[Pooled] = []
        self._generation = 0

    async def acquire(self) -> Pooled:
        await self._slots.acquire()
        try:
            return await self._take()
        except BaseException:
            self._slots.release()
            raise

    def release(self, pooled: Pooled, *, reusable: bool) -> None:
        driver = pooled.driver
        if (
            reusable
            and pooled.generation == self._generation
            and not driver.is_closed()
            and not driver.is_in_transaction()
        ):
            self._idle.append(pooled)
        else:
            driver.terminate()
        self._slots.release()

    async def close(self) -> None:
        self._generation += 1
        idle, self._idle = self._idle, []
        for pooled in idle:
            await _close_gently(pooled.driver)

    async def _take(self) -> Pooled:
        # the most recently used first: under light load the others age out and recycle
        while self._idle:
            pooled = self._idle.pop()
            if pooled.driver.is_closed():
                pooled.driver.terminate()  # finishes asyncpg's cleanup of a lost connection
            elif time.monotonic() - pooled.born > self._recycle:
                await _close_gently(pooled.driver)
            else:
                return pooled
        return Pooled(await self._connect(), time.monotonic(), self._generation)


async def _close_gently(driver: Any) -> None:
    try:
        await driver.close(timeout=5)
    except Exception:
        driver.terminate()


class _Adapted:
    """What the dialect's codec hooks take: a connection adapted around asyncpg's."""

    __slots__ = ("_connection",)

    def __init__(self, driver: Any) -> None:
        self._connection = driver


def _driver_connector(engine: AsyncEngine) -> Callable[[], Awaitable[Any]]:
    """Opens asyncpg connections as the engine's dialect does: the URL's arguments, and the
    dialect's own JSON and JSONB codecs, so values decode as through SQLAlchemy."""
    dialect: Any = engine.dialect
    _, options = dialect.create_connect_args(engine.url)
    # the dialect's own options, not asyncpg's
    options.pop("prepared_statement_cache_size", None)
    options.pop("prepared_statement_name_func", None)

    async def connect() -> Any:
        driver = await asyncpg.connect(**options)
        try:
            await dialect.setup_asyncpg_json_codec(_Adapted(driver))
            await dialect.setup_asyncpg_jsonb_codec(_Adapted(driver))
        except BaseException:
            driver.terminate()
            raise
        return driver

    return connect


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
