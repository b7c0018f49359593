"""Opening the store: engine, schema check, and dialect-aware INSERT for ON CONFLICT."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Callable
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.store.db import create_engine
from monitor.store.migrate import ensure_schema

T = TypeVar("T")


async def open_store(url: str, *, migrate: bool = True) -> AsyncEngine:
    """Create the engine and, unless told not to, bring the schema to the current version."""
    engine = create_engine(url)
    if migrate:
        try:
            await ensure_schema(engine, url)
        except BaseException:
            await engine.dispose()
            raise
    return engine


def insert(engine_or_dialect: Any, table: Any) -> Any:
    """``INSERT`` for the engine's dialect, which offers ``on_conflict_do_nothing/update``."""
    name = getattr(engine_or_dialect, "dialect", engine_or_dialect)
    name = getattr(name, "name", name)
    # imported here, the engine's own only: the PostgreSQL dialect package loads its five
    # drivers, ~0.04 s of every command on SQLite
    if name == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table)
    from sqlalchemy.dialects import postgresql

    return postgresql.insert(table)


class PerEngine(Generic[T]):
    """One ``T`` per engine, made on first use and dropped with the engine. An engine
    lives in one event loop, so what is made for it (locks, queues) may be bound to it."""

    def __init__(self, make: Callable[[AsyncEngine], T]) -> None:
        self._make = make
        self._made: weakref.WeakKeyDictionary[AsyncEngine, T] = weakref.WeakKeyDictionary()

    def __call__(self, engine: AsyncEngine) -> T:
        found = self._made.get(engine)
        if found is None:
            found = self._made[engine] = self._make(engine)
        return found


def idle(task: asyncio.Task[Any] | None) -> bool:
    """Whether a batching task must be started for the next batch: none yet, finished, or
    of another (closed) event loop, where it will never run again."""
    return task is None or task.done() or task.get_loop() is not asyncio.get_running_loop()


# SQLite has one writer at a time. Writers of one process queue on an asyncio lock rather
# than in SQLite's busy handler, which would block aiosqlite's threads and, under load,
# time out with "database is locked". PostgreSQL needs no such lock.
_writers: PerEngine[asyncio.Lock] = PerEngine(lambda engine: asyncio.Lock())


def writer_lock(engine: AsyncEngine) -> asyncio.Lock | contextlib.nullcontext[None]:
    if engine.dialect.name != "sqlite":
        return contextlib.nullcontext()
    return _writers(engine)


@contextlib.asynccontextmanager
async def writing(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A write transaction; on SQLite, one at a time per process."""
    async with writer_lock(engine), engine.begin() as connection:
        yield connection


@contextlib.asynccontextmanager
async def one_statement(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for one statement, which is a transaction by itself: on PostgreSQL in
    autocommit, on SQLite ``writing``'s transaction. psycopg opens a transaction with a
    BEGIN of its own and ends it with a COMMIT, each a round trip the server answers: for
    the claim's single ``UPDATE … RETURNING``, two of its four (with the pool's ping). Only
    for work that is one statement: two would no longer commit or fail together."""
    if engine.dialect.name != "postgresql":
        async with writing(engine) as connection:
            yield connection
        return
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        yield connection


@contextlib.asynccontextmanager
async def reading(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for reads. On PostgreSQL in autocommit: under READ COMMITTED each
    statement sees its own snapshot in a transaction or out of one, so the BEGIN and
    ROLLBACK psycopg would wrap them in change nothing but cost two round trips."""
    async with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            await connection.execution_options(isolation_level="AUTOCOMMIT")
        yield connection
