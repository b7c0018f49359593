"""A SQLite statement is one trip to aiosqlite's thread (``store.sqlite_cursor``), and
what SQLAlchemy reads of it is what the stock cursor gave: rows, row counts, RETURNING,
the last row id, executemany, and errors translated to SQLAlchemy's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import aiosqlite.core
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_connection

from monitor.store.sqlite_cursor import OneTripConnection
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


T = sa.Table(
    "t",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, unique=True),
)


async def _engine(engines: Engines, url: str) -> Any:
    engine = await engines.open(url, migrate=False)
    async with engine.begin() as connection:
        await connection.run_sync(T.metadata.create_all)
    return engine


async def test_the_adapter_is_the_one_this_cursor_was_written_for(
    sqlite_url: str, engines: Engines
) -> None:
    # an upgrade of SQLAlchemy that renames or replaces the adapter leaves it alone:
    # statements still work, four trips each; this says to look at the cursor again
    engine = await _engine(engines, sqlite_url)
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        assert type(raw.dbapi_connection) is OneTripConnection
        assert isinstance(raw.dbapi_connection, AsyncAdapt_aiosqlite_connection)


async def test_a_statement_is_one_trip(sqlite_url: str, engines: Engines, trips: list[str]) -> None:
    engine = await _engine(engines, sqlite_url)
    trips.clear()
    async with engine.begin() as connection:
        await connection.execute(T.insert().values(name="a"))
        assert (await connection.execute(sa.select(T.c.name))).scalars().all() == ["a"]
    # the stock cursor: cursor, execute, close; cursor, execute, fetchall, close; commit
    assert trips == ["_run", "_run", "commit"]


async def test_rows_counts_and_ids_as_sqlalchemy_reads_them(
    sqlite_url: str, engines: Engines
) -> None:
    engine = await _engine(engines, sqlite_url)
    async with engine.begin() as connection:
        inserted = await connection.execute(T.insert().values(name="a"))
        assert inserted.inserted_primary_key == (1,)  # the cursor's lastrowid
        many = await connection.execute(T.insert(), [{"name": "b"}, {"name": "c"}])
        assert many.rowcount == 2
        updated = await connection.execute(T.update().where(T.c.id > 1).values(name=T.c.name + "!"))
        assert updated.rowcount == 2
        returned = await connection.execute(
            T.update().where(T.c.id == 1).values(name="z").returning(T.c.id, T.c.name)
        )
        assert returned.all() == [(1, "z")]
        none = await connection.execute(T.delete().where(T.c.id == 99))
        assert none.rowcount == 0
        assert (await connection.execute(sa.select(T.c.id).where(T.c.id == 99))).first() is None
        partitions = await connection.stream(sa.select(T.c.id).order_by(T.c.id))
        assert [row.id async for row in partitions] == [1, 2, 3]
        rows = (await connection.execute(sa.select(T).order_by(T.c.id))).mappings().all()
        assert [dict(r) for r in rows] == [
            {"id": 1, "name": "z"},
            {"id": 2, "name": "b!"},
            {"id": 3, "name": "c!"},
        ]


async def test_an_error_is_sqlalchemys_and_the_transaction_is_undone(
    sqlite_url: str, engines: Engines
) -> None:
    engine = await _engine(engines, sqlite_url)
    async with engine.begin() as connection:
        await connection.execute(T.insert().values(name="a"))
    with pytest.raises(sa.exc.IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(T.insert().values(name="x"))
            await connection.execute(T.insert().values(name="a"))  # unique
    async with engine.connect() as connection:
        assert (await connection.execute(sa.select(T.c.name))).scalars().all() == ["a"]
    with pytest.raises(sa.exc.OperationalError):
        async with engine.connect() as connection:
            await connection.execute(sa.text("SELECT nothing FROM nowhere"))
