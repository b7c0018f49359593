"""``store.arrays.execute_rows``: SQLite's bulk statements sent with their parameters
converted a column at a time store and return what SQLAlchemy's executemany would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.store import arrays
from monitor.store.matching import _MATCHED
from monitor.store.releases import _row, _upsert
from monitor.store.tables import RELEASES
from tests.support.store import release, store_with_sources

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def engines(tmp_path: Any) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    one = await store_with_sources(f"sqlite:///{tmp_path}/a.db", ("ministry",), T0)
    two = await store_with_sources(f"sqlite:///{tmp_path}/b.db", ("ministry",), T0)
    try:
        yield one, two
    finally:
        await one.dispose()
        await two.dispose()


def _rows(count: int, moment: datetime, text: str) -> list[dict[str, Any]]:
    return [
        _row(
            "ministry",
            release(f"g{i}", f"{text} {i}", f"NATO {i}", published=T0 + timedelta(i)),
            moment,
            i % 2 == 0,
            f"nato {i}",
            None if i % 3 else "k1 k2",
        )
        for i in range(count)
    ]


async def _stored(engine: AsyncEngine) -> list[tuple[Any, ...]]:
    async with engine.connect() as connection:
        rows = await connection.execute(sa.select(RELEASES).order_by(RELEASES.c.id))
        return [tuple(row) for row in rows]


async def test_upsert_and_update_store_and_return_as_executemany(
    engines: tuple[AsyncEngine, AsyncEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(arrays, "_ROWS", 7)  # several statements, one short
    quick, plain = engines
    statement = _upsert("sqlite")
    for moment, text in ((T0, "first"), (T0 + timedelta(hours=1), "revised")):
        rows = _rows(30, moment, text) if text == "first" else _rows(40, moment, text)[10:]
        async with quick.begin() as connection:
            got = await arrays.execute_rows(connection, statement, rows)
        async with plain.begin() as connection:
            expected = (await connection.execute(statement, rows)).all()
        assert [tuple(r) for r in got] == [
            (r.id, r.identity, r.revision, int(r.alertable)) for r in expected
        ]
        assert len(got) == len(rows)
    changed = [{"release": i, "story": None, "hash": f"h{i}"} for i in range(1, 41, 3)]
    for engine, run in ((quick, arrays.execute_rows), (plain, None)):
        async with engine.begin() as connection:
            if run is None:
                await connection.execute(_MATCHED, changed)
            else:
                assert await run(connection, _MATCHED, changed) == []
    assert await _stored(quick) == await _stored(plain)


async def test_columns_store_what_the_same_rows_store(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    """``execute_columns``: the rows as columns, a shared value (a time, converted by its
    type for SQLite) and the statement's own value, as SQLAlchemy's executemany stores them."""
    quick, plain = engines
    rows = _rows(30, T0, "first")
    statement = sa.insert(RELEASES).values(revision=7)  # a value of the statement's own
    moment = rows[0]["first_seen_at"]
    keys = [k for k in rows[0] if k not in ("first_seen_at", "revision")]
    columns = {k: [row[k] for row in rows] for k in keys}
    async with quick.begin() as connection:
        await arrays.execute_columns(connection, statement, columns, {"first_seen_at": moment})
    async with plain.begin() as connection:
        await connection.execute(
            statement, [{k: row[k] for k in keys} | {"first_seen_at": moment} for row in rows]
        )
    assert await _stored(quick) == await _stored(plain)
