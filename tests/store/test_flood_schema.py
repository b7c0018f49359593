"""A new SQLite database built in one step (issue 22.2): the same database as Alembic's
14 migrations make, without loading Alembic."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.store.migrate import HEAD, HEAD_SQLITE, create_sqlite_head, dump_sqlite, upgrade_sync
from tests.conftest import Engines

PRAGMAS = ("user_version", "application_id", "page_size", "auto_vacuum", "encoding", "journal_mode")


def _everything(path: Path) -> dict[str, object]:
    """The schema, every table's rows (an FTS table's shadow tables too) and the pragmas
    a database file keeps."""
    connection = sqlite3.connect(path)
    try:
        schema = sorted(
            connection.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall(),
            key=repr,
        )
        tables = sorted(r[1] for r in connection.execute("PRAGMA table_list") if r[2] != "view")
        rows = {
            t: sorted(connection.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr)
            for t in tables
            # an FTS table's rows are its shadow tables'; sqlite_schema's are the schema
            # above, with root pages that depend on the order of creation
            if t not in ("releases_fts", "sqlite_schema", "sqlite_temp_schema")
        }
        pragmas = {p: connection.execute(f"PRAGMA {p}").fetchone() for p in PRAGMAS}
        listed = sorted(connection.execute("PRAGMA table_list").fetchall())
        return {"schema": schema, "rows": rows, "pragmas": pragmas, "table_list": listed}
    finally:
        connection.close()


def test_one_step_database_is_the_migrated_one(tmp_path: Path) -> None:
    upgrade_sync(f"sqlite:///{tmp_path / 'alembic.db'}")
    assert create_sqlite_head(f"sqlite:///{tmp_path / 'one.db'}") is True

    migrated, built = _everything(tmp_path / "alembic.db"), _everything(tmp_path / "one.db")
    assert built["rows"]["alembic_version"] == [(HEAD,)]  # type: ignore[index]
    assert any(r[0] == "trigger" for r in built["schema"])  # type: ignore[attr-defined]
    assert built == migrated


def test_script_is_the_dump_of_the_migrations(tmp_path: Path) -> None:
    upgrade_sync(f"sqlite:///{tmp_path / 'alembic.db'}")
    assert dump_sqlite(str(tmp_path / "alembic.db")) == HEAD_SQLITE.read_text(encoding="utf-8"), (
        "a migration changed the schema: rewrite the script with `python -m monitor.store.migrate`"
    )


def test_database_not_empty_is_left_to_alembic(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY)")
    connection.close()
    assert create_sqlite_head(f"sqlite:///{path}") is False
    with sqlite3.connect(path) as connection:
        names = [r[0] for r in connection.execute("SELECT name FROM sqlite_master")]
    connection.close()
    assert names == ["notes"]  # nothing written: the one step rolled back


async def test_not_empty_database_still_migrates(tmp_path: Path, engines: Engines) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY)")
    connection.close()
    await engines.open(f"sqlite:///{path}")
    with sqlite3.connect(path) as connection:
        revision = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        notes = connection.execute("SELECT count(*) FROM notes").fetchone()
    connection.close()
    assert (revision, notes) == ((HEAD,), (0,))


def test_new_sqlite_store_opens_without_alembic(tmp_path: Path) -> None:
    """A poll on a new SQLite file neither imports Alembic nor runs its migrations."""
    url = f"sqlite:///{tmp_path / 'new.db'}"
    code = (
        "import asyncio, sys\n"
        "from monitor.store.session import open_store\n"
        "from monitor.store.migrate import current_revision\n"
        "async def main():\n"
        f"    engine = await open_store({url!r})\n"
        "    print(await current_revision(engine), 'alembic' in sys.modules)\n"
        "    await engine.dispose()\n"
        "asyncio.run(main())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.split() == [HEAD, "False"]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_new_postgresql_schema_still_migrates(db_url: str, engines: Engines) -> None:
    from monitor.store.migrate import current_revision

    engine = await engines.open(db_url)
    assert await current_revision(engine) == HEAD
