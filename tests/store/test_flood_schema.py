"""A new database built in one step (issue 22.2): the same database as Alembic's 14
migrations make, on SQLite and PostgreSQL, without loading Alembic."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.store.migrate import (
    HEAD,
    HEAD_SCRIPTS,
    create_head,
    dump_postgresql,
    dump_sqlite,
    upgrade_sync,
)
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


def test_one_step_sqlite_database_is_the_migrated_one(tmp_path: Path) -> None:
    upgrade_sync(f"sqlite:///{tmp_path / 'alembic.db'}")
    assert create_head(f"sqlite:///{tmp_path / 'one.db'}") is True

    migrated, built = _everything(tmp_path / "alembic.db"), _everything(tmp_path / "one.db")
    assert built["rows"]["alembic_version"] == [(HEAD,)]  # type: ignore[index]
    assert any(r[0] == "trigger" for r in built["schema"])  # type: ignore[attr-defined]
    assert built == migrated


def test_sqlite_script_is_the_dump_of_the_migrations(tmp_path: Path) -> None:
    upgrade_sync(f"sqlite:///{tmp_path / 'alembic.db'}")
    assert dump_sqlite(str(tmp_path / "alembic.db")) == HEAD_SCRIPTS["sqlite"].read_text(
        encoding="utf-8"
    ), "a migration changed the schema: rewrite the script with `python -m monitor.store.migrate`"


def test_sqlite_database_not_empty_is_left_to_alembic(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY)")
    connection.close()
    assert create_head(f"sqlite:///{path}") is False
    with sqlite3.connect(path) as connection:
        names = [r[0] for r in connection.execute("SELECT name FROM sqlite_master")]
    connection.close()
    assert names == ["notes"]  # nothing written: the one step rolled back


def test_script_of_another_revision_is_left_to_alembic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A script that is not HEAD's (a migration added, the script not rewritten) builds
    nothing; so does a copy of monitor without its scripts."""
    import monitor.store.migrate as migrate

    monkeypatch.setattr(migrate, "HEAD", "0099")
    assert create_head(f"sqlite:///{tmp_path / 'a.db'}") is False
    monkeypatch.undo()
    monkeypatch.setitem(migrate.HEAD_SCRIPTS, "sqlite", tmp_path / "missing.sql")
    assert create_head(f"sqlite:///{tmp_path / 'b.db'}") is False
    for name in ("a.db", "b.db"):
        with sqlite3.connect(tmp_path / name) as connection:
            assert connection.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)
        connection.close()


async def test_sqlite_database_not_empty_still_migrates(tmp_path: Path, engines: Engines) -> None:
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


def _opened_without_alembic(url: str) -> list[str]:
    """A new process opens the store at ``url``: its revision, and whether Alembic was
    imported."""
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
    return done.stdout.split()


def test_new_sqlite_store_opens_without_alembic(tmp_path: Path) -> None:
    """A poll on a new SQLite file neither imports Alembic nor runs its migrations."""
    assert _opened_without_alembic(f"sqlite:///{tmp_path / 'new.db'}") == [HEAD, "False"]


# PostgreSQL: what the catalogs say of the current schema (its name replaced by "S")
PG_CATALOG = {
    "relations": "SELECT relname, relkind, relpersistence, reloptions FROM pg_class"
    " WHERE relnamespace = current_schema()::regnamespace ORDER BY 1",
    "columns": "SELECT table_name, column_name, ordinal_position, data_type,"
    " character_maximum_length, column_default, is_nullable, is_generated,"
    " generation_expression FROM information_schema.columns"
    " WHERE table_schema = current_schema() ORDER BY 1, 3",
    "constraints": "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
    " FROM pg_constraint WHERE connamespace = current_schema()::regnamespace ORDER BY 1, 2",
    "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes"
    " WHERE schemaname = current_schema() ORDER BY 1, 2",
    "triggers": "SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(t.oid)"
    " FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
    " WHERE NOT tgisinternal AND c.relnamespace = current_schema()::regnamespace ORDER BY 1, 2",
    "functions": "SELECT proname, pg_get_functiondef(oid) FROM pg_proc"
    " WHERE pronamespace = current_schema()::regnamespace ORDER BY 1",
    "sequences": "SELECT sequence_name, data_type, start_value, minimum_value, maximum_value,"
    " increment, cycle_option FROM information_schema.sequences"
    " WHERE sequence_schema = current_schema() ORDER BY 1",
    "owned": "SELECT s.relname, t.relname, a.attname FROM pg_depend d"
    " JOIN pg_class s ON s.oid = d.objid JOIN pg_class t ON t.oid = d.refobjid"
    " JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid"
    " WHERE s.relkind = 'S' AND d.deptype = 'a'"
    " AND s.relnamespace = current_schema()::regnamespace ORDER BY 1",
}


@pytest.fixture
def pg_schemas(pg_database: str) -> Iterator[list[tuple[str, str]]]:
    """Two new, empty schemas of the session's database: (name, URL) of each."""
    import psycopg

    names = [f"t_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    plain = pg_database.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(plain, autocommit=True) as conn:
        for name in names:
            conn.execute(f'CREATE SCHEMA "{name}"')
    yield [(n, f"{pg_database}?options=-csearch_path%3D{n}") for n in names]
    with psycopg.connect(plain, autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')


def _pg_everything(schema: str, url: str) -> dict[str, object]:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            found: dict[str, object] = {
                what: [
                    tuple(str(v).replace(schema, "S") for v in row)
                    for row in connection.exec_driver_sql(query)
                ]
                for what, query in PG_CATALOG.items()
            }
            for table, kind in connection.exec_driver_sql(
                "SELECT relname, relkind FROM pg_class"
                " WHERE relnamespace = current_schema()::regnamespace AND relkind IN ('r', 'S')"
            ).all():
                rows = connection.exec_driver_sql(f'SELECT * FROM "{table}"').all()
                found[f"rows of {table} ({kind})"] = sorted(map(tuple, rows), key=repr)
            return found
    finally:
        engine.dispose()


def test_one_step_postgresql_schema_is_the_migrated_one(
    pg_schemas: list[tuple[str, str]],
) -> None:
    (migrated_schema, migrated_url), (built_schema, built_url) = pg_schemas
    upgrade_sync(migrated_url)
    assert create_head(built_url) is True

    migrated = _pg_everything(migrated_schema, migrated_url)
    built = _pg_everything(built_schema, built_url)
    assert built["rows of alembic_version (r)"] == [(HEAD,)]
    assert built["triggers"] and built["functions"] and built["indexes"]
    assert built == migrated


def test_postgresql_script_is_the_dump_of_the_migrations(pg_database: str) -> None:
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not on PATH")
    dumped = dump_postgresql(pg_database, schema=f"t_{uuid.uuid4().hex[:10]}")
    assert dumped == HEAD_SCRIPTS["postgresql"].read_text(encoding="utf-8"), (
        "a migration changed the schema: rewrite the scripts with"
        " `python -m monitor.store.migrate POSTGRESQL_URL`"
    )


def test_postgresql_schema_not_empty_is_left_to_alembic(pg_url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(pg_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE notes (id integer PRIMARY KEY)")
    try:
        assert create_head(pg_url) is False
        with engine.connect() as connection:
            names = connection.exec_driver_sql(
                "SELECT relname FROM pg_class"
                " WHERE relnamespace = current_schema()::regnamespace AND relkind = 'r'"
            ).all()
        assert names == [("notes",)]  # nothing written: rolled back
    finally:
        engine.dispose()


def test_new_postgresql_schema_opens_without_alembic(pg_url: str) -> None:
    assert _opened_without_alembic(pg_url) == [HEAD, "False"]
