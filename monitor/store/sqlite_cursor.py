"""SQLite statements in one trip to aiosqlite's thread instead of four.

aiosqlite runs each call on its connection's thread: the event loop queues the call, the
thread wakes, runs it and wakes the loop back with the result. SQLAlchemy's cursor for
aiosqlite makes four such trips a statement (make a cursor, execute, fetch the rows,
close the cursor), and commits are one more: in `monitor run` against 1,000 feeds at a
minute (`bench.peer_changedetection`) that was 6.7 trips a poll, each two thread wake-ups
and their system calls, the largest single cost of a poll after the HTTP request itself
(py-spy: aiosqlite's `_execute` 17 % of the loop thread, its threads 0.7 s a minute).

``OneTripCursor`` is SQLAlchemy's cursor with those four steps done in one function on
the connection's thread (``_run``): the rows, the description, the row count and the last
row id come back together, as SQLAlchemy reads them after the execute. Everything else
(the connection, commits, isolation, errors and their translation to SQLAlchemy's) is
SQLAlchemy's and aiosqlite's own. Server-side cursors (never used by monitor) keep
SQLAlchemy's class.

It is installed on each new connection (``install``), by setting the class of the
connection adapter to a subclass naming this cursor: the adapter has ``__slots__`` and no
argument for its cursor class. A SQLAlchemy whose adapter is another class is left alone
(every statement still works, four trips each), and ``tests/store/test_sqlite_cursor.py``
fails on it.
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any

from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
)
from sqlalchemy.util import EMPTY_DICT

Outcome = tuple[Any, list[Any], int, int | None]


def _run(connection: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> Outcome:
    """On aiosqlite's thread: the statement executed, its rows fetched, the cursor closed."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        else:
            cursor.execute(operation, () if parameters is None else parameters)
        description = cursor.description
        rows = cursor.fetchall() if description and not many else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """SQLAlchemy's aiosqlite cursor, one trip to the connection's thread a statement."""

    __slots__ = ("_arraysize", "_description", "_lastrowid", "_rowcount")
    _awaitable_cursor_close = False  # nothing left open on the thread after a statement

    def __init__(self, adapt_connection: Any) -> None:
        # not the parent's: it makes the aiosqlite cursor at once (a trip of its own)
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]  # no aiosqlite cursor is kept
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> Any:
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        await self._trip(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        await self._trip(operation, seq_of_parameters, many=True)

    async def _trip(self, operation: Any, parameters: Any, *, many: bool) -> None:
        async with self._adapt_connection._execute_mutex:
            aio = self._connection
            outcome: Outcome = await aio._execute(_run, aio._conn, operation, parameters, many)
        self._description, rows, self._rowcount, self._lastrowid = outcome
        self._rows = collections.deque(rows)

    async def _async_soft_close(self) -> None:
        return None  # the statement's cursor was closed on the thread

    def close(self) -> None:
        self._rows.clear()

    def setinputsizes(self, *inputsizes: Any) -> None:
        return None  # sqlite3's does nothing either

    def nextset(self) -> None:
        return None  # sqlite3 has no multiple result sets


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    """SQLAlchemy's aiosqlite connection adapter, whose cursors are ``OneTripCursor``."""

    __slots__ = ()
    _cursor_cls = OneTripCursor


def install(dbapi_connection: Any, _record: Any) -> None:
    """The ``connect`` listener: a new connection's cursors make one trip a statement."""
    if type(dbapi_connection) is AsyncAdapt_aiosqlite_connection:
        dbapi_connection.__class__ = OneTripConnection
