"""Schema migrations (Alembic), applied cheaply.

``ensure_schema`` reads the stored revision with one query and compares it with ``HEAD``;
only when they differ does it load Alembic and upgrade. On PostgreSQL the upgrade holds an
advisory lock, so instances starting together migrate once and the others wait.

A new, empty SQLite database is built in one step instead: ``HEAD_SQLITE`` holds what the
migrations leave in it (its ``sqlite_master`` and rows, written by ``dump_sqlite``), run in
one transaction. Importing Alembic and running its 14 migrations cost a one-item poll
~0.3 s of its ~1.3 s of CPU. tests/store/test_flood_schema.py checks the script against the
migrations; when a migration is added, rewrite it with ``python -m monitor.store.migrate``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from pathlib import Path

from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.errors import StoreError
from monitor.store.db import ensure_sqlite_dir, install_sqlite_pragmas, is_sqlite, normalise_url

HEAD = "0014"
_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_ADVISORY_KEY = 0x6D6F6E69746F72  # "monitor"
HEAD_SQLITE = _MIGRATIONS / "head.sqlite.sql"


def _alembic_config(connection: Connection) -> object:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade_sync(url: str, revision: str = "head") -> None:
    """Upgrade the database at ``url`` to ``revision`` (blocking)."""
    from alembic import command

    if is_sqlite(url):
        ensure_sqlite_dir(url)
    engine = create_sync_engine(normalise_url(url, asynchronous=False))
    if is_sqlite(url):
        install_sqlite_pragmas(engine)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_KEY})
            command.upgrade(_alembic_config(connection), revision)  # type: ignore[arg-type]
    except (OperationalError, ProgrammingError) as exc:
        raise StoreError(f"migration failed: {exc.orig}") from None
    finally:
        engine.dispose()


async def current_revision(engine: AsyncEngine) -> str | None:
    try:
        async with engine.connect() as connection:
            result = await connection.execute(text("SELECT version_num FROM alembic_version"))
            return result.scalar_one_or_none()
    except (OperationalError, ProgrammingError):
        return None  # no alembic_version table yet: a new database
    except DBAPIError as exc:
        raise StoreError(f"database unreachable: {exc.orig}") from None


async def ensure_schema(engine: AsyncEngine, url: str) -> bool:
    """Bring the schema to HEAD if it is behind. Returns True when it migrated."""
    revision = await current_revision(engine)
    if revision == HEAD:
        return False
    if revision is not None and revision > HEAD:
        raise StoreError(
            f"the database is at schema {revision}, newer than this monitor ({HEAD}): "
            "upgrade monitor"
        )
    if revision is None and is_sqlite(url) and await asyncio.to_thread(create_sqlite_head, url):
        return True
    await asyncio.to_thread(upgrade_sync, url)
    return True


def _statements(script: str) -> list[str]:
    """``script``'s statements (a trigger's body holds semicolons: sqlite3 says where each
    statement is complete)."""
    statements: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    return statements


def create_sqlite_head(url: str) -> bool:
    """Build HEAD's schema in the empty SQLite database at ``url`` in one transaction.

    False, with nothing changed, when the database holds anything already (another
    instance built it first, or it is not a new one) or the script is not HEAD's: the
    caller migrates with Alembic then."""
    ensure_sqlite_dir(url)
    engine = create_sync_engine(normalise_url(url, asynchronous=False))
    install_sqlite_pragmas(engine)
    try:
        with engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            connection.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock, before the check
            try:
                if connection.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar():
                    connection.exec_driver_sql("ROLLBACK")
                    return False
                for statement in _statements(HEAD_SQLITE.read_text(encoding="utf-8")):
                    connection.exec_driver_sql(statement)
                stored = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
                if stored.scalar_one() != HEAD:
                    connection.exec_driver_sql("ROLLBACK")
                    return False
            except BaseException:
                connection.exec_driver_sql("ROLLBACK")
                raise
            connection.exec_driver_sql("COMMIT")
            return True
    except OperationalError as exc:
        raise StoreError(f"migration failed: {exc.orig}") from None
    finally:
        engine.dispose()


def dump_sqlite(path: str) -> str:
    """The script that rebuilds the SQLite database at ``path``: its tables, their rows,
    indexes, triggers and views, without what SQLite makes itself (an FTS table's shadow
    tables, ``sqlite_`` tables, the indexes of constraints)."""
    connection = sqlite3.connect(path)
    try:
        kinds = {r[1]: r[2] for r in connection.execute("PRAGMA table_list")}
        rows = connection.execute(
            "SELECT type, name, sql FROM sqlite_master"
            " WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite%' ORDER BY rowid"
        ).fetchall()
        kept = [(kind, name, sql) for kind, name, sql in rows if kinds.get(name) != "shadow"]
        lines = [f"{sql};" for kind, _, sql in kept if kind == "table"]
        for kind, name, _ in kept:
            if kind != "table" or kinds[name] != "table":  # a virtual table's rows are its own
                continue
            # names read from the schema itself; values written by SQLite's quote()
            columns = [r[1] for r in connection.execute(f'PRAGMA table_info("{name}")')]
            quoted = " || ', ' || ".join(f'quote("{c}")' for c in columns)
            select = f'SELECT {quoted} FROM "{name}" ORDER BY rowid'  # noqa: S608
            insert = f"INSERT INTO {name} ({', '.join(columns)}) VALUES"
            lines += [f"{insert} ({values});" for (values,) in connection.execute(select)]
        for order in ("index", "trigger", "view"):
            lines += [f"{sql};" for kind, _, sql in kept if kind == order]
        return "\n".join(lines) + "\n"
    finally:
        connection.close()


if __name__ == "__main__":
    # python -m monitor.store.migrate: rewrite HEAD_SQLITE from a database migrated to HEAD
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        upgrade_sync(f"sqlite:///{tmp}/head.db")
        HEAD_SQLITE.write_text(dump_sqlite(f"{tmp}/head.db"), encoding="utf-8")
    sys.stdout.write(f"wrote {HEAD_SQLITE}\n")
