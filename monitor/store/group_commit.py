"""Many small writes from concurrent polls, one transaction: group commit.

A poll whose body is unchanged, or that failed, writes its outcome on its source's row.
Hundreds of polls finishing at once would each pay a transaction (on SQLite, one at a
time behind the writer lock: about 3 ms each, most of a warm poll of 250 feeds). Here the
writes queued while a transaction is in flight go together into the next one. (A poll
that stores releases records its outcome in the transaction that stores them.)

Callers still wait for their own write to commit, so what a caller sees is unchanged:
when ``write`` returns, the row is stored. A write that fails inside a group is retried
alone, so one bad statement fails only its own caller.

A write is either some work on the connection or one prepared statement with its
parameters. Consecutive writes of the same statement go to the driver as one
``executemany``: a warm poll of 250 feeds records 250 outcomes, and one statement each
cost about 1 ms of SQLAlchemy and driver overhead, against 0.05 ms as rows of one batch.

On PostgreSQL an executemany is still one statement a row (psycopg sends them in a
pipeline, each parsed, planned and executed apart: 0.94 of a poll's 2.6 statements in
bench.scale, issue 23). A write that names its statement's array form (``Row.arrays``:
the same work for many rows, each parameter an array of the rows' values, ``UPDATE …
FROM unnest(…)``) goes there as one statement whatever the rows.

A group waits ``GATHER_SECONDS`` before its transaction, for the polls finishing just after
the first: polls are claimed in batches of 16 and more and end within milliseconds of each
other. A transaction costs the same few round trips (BEGIN, the statement, COMMIT) and a
pool checkout whatever its rows: at 33 polls a second, 5 outcomes a transaction became
about 15, and a 304 poll's statements 0.30 -> 0.13 (bench_poll_cost, PostgreSQL).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.expression import Executable

from monitor.store.session import PerEngine, idle, one_statement, writing

Work = Callable[[AsyncConnection], Awaitable[None]]

GATHER_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class Row:
    """One execution of ``statement`` (a constant with bind parameters) with ``params``.
    ``arrays``, on PostgreSQL: one statement for a run of such rows, each parameter bound to
    the list of the rows' values (in the rows' order); the rows' ids must not repeat."""

    statement: Executable
    params: dict[str, Any]
    arrays: Executable | None = None


Write = Work | Row


class GroupCommit:
    """Runs queued write work in as few transactions as the load allows."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._queue: list[tuple[Write, asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None

    async def write(self, work: Write) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((work, future))
        if idle(self._task):
            self._task = asyncio.create_task(self._flush())
        await future

    async def _flush(self) -> None:
        await asyncio.sleep(GATHER_SECONDS)
        while self._queue:
            batch, self._queue = self._queue, []
            writes = [work for work, _ in batch]
            # a batch that is one statement commits by itself (``one_statement``)
            opened = one_statement if _one_statement(writes) else writing
            try:
                try:
                    async with opened(self._engine) as connection:
                        await _run(connection, writes)
                except Exception:
                    await self._one_by_one(batch)
                    continue
            except BaseException:
                for _, future in batch:
                    future.cancel()
                raise
            for _, future in batch:
                if not future.done():
                    future.set_result(None)

    async def _one_by_one(self, batch: list[tuple[Write, asyncio.Future[None]]]) -> None:
        for work, future in batch:
            try:
                async with writing(self._engine) as connection:
                    await _run(connection, [work])
            except Exception as exc:
                if not future.done():
                    future.set_exception(exc)
            else:
                if not future.done():
                    future.set_result(None)


async def _run(connection: AsyncConnection, writes: list[Write]) -> None:
    """``writes`` in order; each run of rows of one statement as one ``executemany``."""
    for statement, run in groupby(writes, key=_statement_of):
        if statement is None:
            for work in run:
                assert not isinstance(work, Row)
                await work(connection)
            continue
        rows = [w for w in run if isinstance(w, Row)]
        arrays = rows[0].arrays
        if arrays is not None and connection.dialect.name == "postgresql":
            columns = {name: [row.params[name] for row in rows] for name in rows[0].params}
            await connection.execute(arrays, columns)
        else:
            await connection.execute(statement, [row.params for row in rows])


def _one_statement(writes: list[Write]) -> bool:
    """Whether ``_run`` sends these writes as one statement: rows of one statement, all
    with an arrays form (a ``Work`` may run any number of statements)."""
    first = writes[0]
    return isinstance(first, Row) and all(
        isinstance(w, Row) and w.statement is first.statement and w.arrays is not None
        for w in writes
    )


def _statement_of(write: Write) -> Executable | None:
    return write.statement if isinstance(write, Row) else None


# per engine: one group commit shared by every poll on it
group_commit = PerEngine(GroupCommit)
