"""PostgreSQL's bulk statements (``store.arrays.insert_arrays``) with their lists sent in
the binary format (``store.db``) store what SQLAlchemy's own executemany of the same rows
stores, whatever the text holds: quotes, backslashes, braces, commas, the word NULL,
empty strings, Arabic, control characters kept by ``storable``, NULLs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.store.matching import _record_matches
from monitor.store.releases import _arrays, _on_conflict, _row, _upsert_arrays
from monitor.store.session import insert
from monitor.store.tables import MATCHES, RELEASES
from tests.support.store import release, store_with_sources

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

AWKWARD = [
    'say "NATO"',
    'back\\slash \\" both',
    "{braces}, commas, and (parens)",
    "NULL",
    "",
    " leading and trailing ",
    "حلف شمال الأطلسي «الناتو»",
    "tab\tnewline\nbell\x07",
    "'single' quotes",
    "emoji 🛰️ and \u200f bidi",
]


def _rows(source: str, moment: datetime) -> list[dict[str, Any]]:
    rows = []
    for i, text in enumerate(AWKWARD * 3):
        data = release(
            f"g{i}",
            text,
            title=AWKWARD[-1 - i % len(AWKWARD)],
            published=None if i % 4 == 0 else T0 + timedelta(days=i),
            language=None if i % 5 == 0 else "ar",
        )
        bands = None if i % 3 else f"{text} k{i}"
        rows.append(_row(source, data, moment, i % 2 == 0, text.casefold(), bands))
    return rows


_COLUMNS = [c for c in RELEASES.c if c.name not in ("id", "source_id")]


async def _stored(engine: AsyncEngine, source: str) -> list[tuple[Any, ...]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            sa.select(*_COLUMNS).where(RELEASES.c.source_id == source).order_by(RELEASES.c.id)
        )
        return [tuple(row) for row in rows]


async def test_unnest_upsert_in_binary_stores_what_executemany_stores(pg_url: str) -> None:
    engine = await store_with_sources(pg_url, ("arrays", "plain"), T0)
    try:
        plain_upsert = _on_conflict(insert("postgresql", RELEASES))
        for moment in (T0, T0 + timedelta(hours=1)):  # new rows, then the same again
            async with engine.begin() as connection:
                got = await connection.execute(_upsert_arrays(), _arrays(_rows("arrays", moment)))
                expected = await connection.execute(plain_upsert, _rows("plain", moment))
                assert [r[1:] for r in got.all()] == [r[1:] for r in expected.all()]
        stored = await _stored(engine, "arrays")
        assert stored == await _stored(engine, "plain")
        assert {row[_COLUMNS.index(RELEASES.c.content)] for row in stored} == set(AWKWARD)
    finally:
        await engine.dispose()


async def test_matches_hits_json_round_trip_in_binary(pg_url: str) -> None:
    from monitor.model import Hit, RuleMatch
    from monitor.store.matching import Pending

    engine = await store_with_sources(pg_url, ("arrays",), T0)
    try:
        async with engine.begin() as connection:
            await connection.execute(_upsert_arrays(), _arrays(_rows("arrays", T0)))
            ids = (await connection.execute(sa.select(RELEASES.c.id))).scalars().all()
            found = []
            for n, release_id in enumerate(ids):
                text = AWKWARD[n % len(AWKWARD)]
                pending = Pending(
                    release_id, "arrays", text, "", "", None, None, "h", None, None, True
                )
                hit = Hit("title", text, 0, len(text), text)
                found.append((pending, RuleMatch("r", (hit, hit), 7 if n % 2 else None)))
            await _record_matches(connection, found, T0)
            rows = await connection.execute(
                sa.select(MATCHES.c.release_id, MATCHES.c.hits, MATCHES.c.hit_count)
            )
            stored = {row.release_id: (row.hits, row.hit_count) for row in rows}
        for pending, match in found:
            hits, count = stored[pending.id]
            title = pending.title
            one = {"field": "title", "term": title, "start": 0, "end": len(title), "snippet": title}
            assert json.loads(hits) == [one, one]
            assert count == match.hit_count
    finally:
        await engine.dispose()
