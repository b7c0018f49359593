"""A SQLite connection back in the pool is rolled back when, and only when, it still holds a
transaction: a committed one costs no trip to aiosqlite's thread (``db._reset_sqlite``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import aiosqlite.core
import pytest
import sqlalchemy as sa

from tests.conftest import Engines


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """What each connection asked its aiosqlite thread to do, in order."""
    asked: list[str] = []
    run = aiosqlite.core.Connection._execute

    async def counted(self: aiosqlite.core.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        asked.append(getattr(fn, "__name__", "?"))
        return await run(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.core.Connection, "_execute", counted)
    yield asked


async def test_a_committed_connection_returns_without_a_rollback(
    sqlite_url: str, engines: Engines, trips: list[str]
) -> None:
    engine = await engines.open(sqlite_url, migrate=False)
    async with engine.begin() as connection:
        await connection.execute(sa.text("CREATE TABLE t (x INTEGER)"))
    trips.clear()
    async with engine.begin() as connection:
        await connection.execute(sa.text("INSERT INTO t VALUES (1)"))
    assert trips.count("commit") == 1
    assert "rollback" not in trips


async def test_an_open_transaction_is_rolled_back_on_return(
    sqlite_url: str, engines: Engines, trips: list[str]
) -> None:
    engine = await engines.open(sqlite_url, migrate=False)
    async with engine.begin() as connection:
        await connection.execute(sa.text("CREATE TABLE t (x INTEGER)"))
    async with engine.connect() as connection:  # written, never committed
        await connection.execute(sa.text("INSERT INTO t VALUES (1)"))
    assert trips[-1] == "rollback"
    async with engine.connect() as connection:
        assert (await connection.execute(sa.text("SELECT count(*) FROM t"))).scalar_one() == 0
    # the write lock went with it: another writer gets in at once
    async with engine.begin() as connection:
        await connection.execute(sa.text("INSERT INTO t VALUES (2)"))
