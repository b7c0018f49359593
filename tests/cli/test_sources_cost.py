"""What ``monitor sources`` no longer pays for (issue 23): a write transaction to sync rows
that already match the config, and the PostgreSQL dialect's import on SQLite."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.config.model import Config
from monitor.store.sources import sync_sources
from monitor.store.tables import SOURCES
from tests.support.store import store_with_sources

T0 = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)


def _trace(engine: AsyncEngine) -> list[str]:
    """The statements and transaction ends the engine sees from now on."""
    seen: list[str] = []
    sync = engine.sync_engine
    event.listen(sync, "before_cursor_execute", lambda *a: seen.append(a[2].split()[0]))
    event.listen(sync, "commit", lambda *_: seen.append("COMMIT"))
    return seen


async def test_rows_that_match_are_read_once_and_not_written(db_url: str) -> None:
    engine = await store_with_sources(db_url, ["a", "b"], T0)
    try:
        config = Config(
            sources=[
                {"id": "a", "url": "https://a.example/rss"},
                {"id": "b", "url": "https://b.example/rss"},
            ]
        )
        seen = _trace(engine)
        await sync_sources(engine, config)
        assert seen == ["SELECT"]  # no write transaction, no commit

        moved = Config(
            sources=[
                {"id": "a", "url": "https://a.example/rss"},
                {"id": "b", "url": "https://b.example/new.xml"},
                {"id": "c", "url": "https://c.example/rss"},
            ]
        )
        seen.clear()
        await sync_sources(engine, moved)
        assert seen == ["SELECT", "SELECT", "INSERT", "UPDATE", "COMMIT"]
        async with engine.connect() as connection:
            rows = dict((await connection.execute(sa.select(SOURCES.c.id, SOURCES.c.url))).all())
        assert rows == {
            "a": "https://a.example/rss",
            "b": "https://b.example/new.xml",
            "c": "https://c.example/rss",
        }
    finally:
        await engine.dispose()


def test_sources_on_sqlite_leaves_the_postgresql_dialect_out(tmp_path: Path) -> None:
    """The package imports its five drivers (~0.04 s): a partial index's ``where`` and the
    dialect's ``INSERT`` load it only where PostgreSQL is used."""
    config = tmp_path / "monitor.yaml"
    config.write_text(
        f"database: sqlite:///{tmp_path / 'monitor.db'}\n"
        "sources:\n  - id: a\n    url: http://127.0.0.1:9/a.xml\n"
        "rules:\n  - id: nato\n    query: NATO\n    channels: [log]\n"
        "channels:\n  - id: log\n    type: log\n",
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "monitor", "--config", str(config)]
    subprocess.run([*command, "db", "upgrade"], check=True, capture_output=True, cwd=tmp_path)
    code = (
        "import runpy, sys\n"
        f"sys.argv = ['monitor', '--config', {str(config)!r}, 'sources']\n"
        "try:\n"
        "    runpy.run_module('monitor', run_name='__main__')\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print(sorted(m for m in sys.modules if m.startswith('sqlalchemy.dialects.')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=tmp_path
    )
    out = done.stdout.splitlines()
    assert out[0].split()[0] == "SOURCE" and out[1].split()[:2] == ["a", "never"]
    loaded = out[-1]
    assert "sqlalchemy.dialects.sqlite" in loaded
    assert "postgresql" not in loaded


def test_partial_indexes_keep_their_where_on_both_dialects() -> None:
    from sqlalchemy.dialects import postgresql, sqlite
    from sqlalchemy.schema import CreateIndex

    from monitor.store.tables import RELEASES

    (index,) = (i for i in RELEASES.indexes if i.name == "ix_releases_pending_alertable")
    pending = "(matched_hash IS NULL OR matched_hash != content_hash)"
    assert str(CreateIndex(index).compile(dialect=postgresql.dialect())).endswith(
        f"WHERE {pending} AND alertable"
    )
    assert str(CreateIndex(index).compile(dialect=sqlite.dialect())).endswith(
        f"WHERE {pending} AND alertable = 1"
    )
    # as Alembic's autogenerate reads and renders them
    assert sorted(index.dialect_kwargs) == ["postgresql_where", "sqlite_where"]
    assert str(index.dialect_kwargs["postgresql_where"]) == f"{pending} AND alertable"


def test_stored_times_read_back_as_utc_whatever_their_text() -> None:
    """SQLite's datetimes parse with ``+00:00`` appended; text that is not what the store
    writes (an offset, a ``T``, no fraction) reads as ``process_result_value`` reads it."""
    from datetime import timedelta, timezone

    from sqlalchemy.dialects import postgresql, sqlite

    from monitor.store.tables import UTCDateTime

    kind = UTCDateTime()
    dialect = sqlite.dialect()
    process = kind.dialect_impl(dialect).result_processor(dialect, None)
    texts = {
        "2026-12-07 20:00:00.123456": datetime(2026, 12, 7, 20, 0, 0, 123456, tzinfo=UTC),
        "2026-12-07 20:00:00": datetime(2026, 12, 7, 20, 0, tzinfo=UTC),
        "2026-12-07T20:00:00": datetime(2026, 12, 7, 20, 0, tzinfo=UTC),
        "2026-12-07 22:00:00+02:00": datetime(2026, 12, 7, 20, 0, tzinfo=UTC),
    }
    for text_, expected in texts.items():
        value = process(text_)
        assert value == expected and value.tzinfo is UTC, text_
    assert process(None) is None

    dialect = postgresql.dialect()
    process = kind.dialect_impl(dialect).result_processor(dialect, None)
    east = datetime(2026, 12, 7, 23, 0, tzinfo=timezone(timedelta(hours=3)))
    assert process(east) == east and process(east).tzinfo is UTC
    assert process(None) is None
