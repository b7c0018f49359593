"""Schema migrations (Alembic), applied cheaply.

``ensure_schema`` reads the stored revision with one query and compares it with ``HEAD``;
only when they differ does it load Alembic and upgrade. On PostgreSQL the upgrade holds an
advisory lock, so instances starting together migrate once and the others wait.

A new, empty database is built in one step instead: ``HEAD_SCRIPTS`` hold what the
migrations leave in it (SQLite: its ``sqlite_master`` and rows, ``dump_sqlite``;
PostgreSQL: ``pg_dump``'s script of the schema, ``dump_postgresql``), run in one
transaction. Importing Alembic and running its 14 migrations cost a one-item poll ~0.3 s
of its ~1.3 s of CPU. tests/store/test_flood_schema.py checks each script against the
migrations; when a migration is added, rewrite them with
``python -m monitor.store.migrate POSTGRESQL_URL`` (it needs ``pg_dump``). SQLite keeps a
statement's text as written: its script keeps the trailing spaces of SQLAlchemy's DDL.
"""

from __future__ import annotations

import asyncio
import re
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
_HEADER = (
    "-- HEAD's schema as the migrations leave it, written by `python -m monitor.store.migrate`:\n"
    "-- do not edit (store.migrate's doc). Statements are kept as the database keeps them.\n"
)
HEAD_SCRIPTS = {
    "sqlite": _MIGRATIONS / "head.sqlite.sql",
    "postgresql": _MIGRATIONS / "head.postgresql.sql",
}
_DUMPED_SCHEMA = "monitor_head_dump"  # the schema dump_postgresql migrates and reads


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
    if revision is None and await asyncio.to_thread(create_head, url):
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


def create_head(url: str) -> bool:
    """Build HEAD's schema in the empty database at ``url`` in one transaction (a new
    SQLite file, or a PostgreSQL schema without tables).

    False, with nothing changed, when the database holds anything already (another
    instance built it first, or it is not a new one) or the script is not HEAD's: the
    caller migrates with Alembic then."""
    if not HEAD_SCRIPTS["sqlite" if is_sqlite(url) else "postgresql"].is_file():
        return False  # a copy of monitor without its scripts: Alembic builds it as before
    return create_sqlite_head(url) if is_sqlite(url) else create_postgresql_head(url)


class _NotNew(Exception):
    """The database is not empty, or the script not HEAD's: nothing is written."""


def create_postgresql_head(url: str) -> bool:
    """``create_head`` on PostgreSQL: under the migrations' advisory lock, so instances
    starting together build it once (the others find the tables and leave it)."""
    engine = create_sync_engine(normalise_url(url, asynchronous=False))
    try:
        with engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_KEY})
            relations = connection.exec_driver_sql(
                "SELECT count(*) FROM pg_class WHERE relnamespace = current_schema()::regnamespace"
            )
            if relations.scalar():
                raise _NotNew
            # one trip: without parameters psycopg sends the script as one simple query
            connection.exec_driver_sql(HEAD_SCRIPTS["postgresql"].read_text(encoding="utf-8"))
            stored = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
            if stored.scalar_one() != HEAD:
                raise _NotNew
        return True
    except _NotNew:
        return False  # rolled back by ``begin``
    except (OperationalError, ProgrammingError) as exc:
        raise StoreError(f"migration failed: {exc.orig}") from None
    finally:
        engine.dispose()


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
                for statement in _statements(HEAD_SCRIPTS["sqlite"].read_text(encoding="utf-8")):
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
        return _HEADER + "\n".join(lines) + "\n"
    finally:
        connection.close()


def dump_postgresql(url: str, schema: str = _DUMPED_SCHEMA) -> str:
    """The script that rebuilds HEAD's schema in the current schema of a PostgreSQL
    database: Alembic's migrations run in a new ``schema`` of the database at ``url``, and
    ``pg_dump``'s script of it (rows as INSERTs) without the settings and the schema's name
    (what a restore in another schema needs)."""
    import subprocess

    from sqlalchemy.engine import make_url

    plain = make_url(normalise_url(url, asynchronous=False)).set(drivername="postgresql")
    engine = create_sync_engine(normalise_url(url, asynchronous=False))
    with engine.begin() as connection:
        connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        upgrade_sync(
            plain.set(query={"options": f"-csearch_path={schema}"}).render_as_string(
                hide_password=False
            )
        )
        # pg_dump from PATH, as its operator runs it (a developer's tool, never the daemon's)
        command = ["pg_dump", "--schema", schema, "--no-owner", "--no-privileges", "--inserts"]
        command.append(plain.render_as_string(hide_password=False))
        done = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603
        dumped = done.stdout
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        engine.dispose()
    skipped = (
        "--",
        "\\",
        "SET ",
        "SELECT pg_catalog.set_config(",
        f"CREATE SCHEMA {schema}",
    )
    lines = [line for line in dumped.splitlines() if not line.startswith(skipped)]
    script = "\n".join(lines).replace(f"{schema}.", "")
    return _HEADER + re.sub(r"\n{3,}", "\n\n", script).strip() + "\n"


if __name__ == "__main__":
    # python -m monitor.store.migrate [POSTGRESQL_URL]: rewrite HEAD_SCRIPTS from databases
    # migrated to HEAD (PostgreSQL's only when a URL is given: it needs pg_dump)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        upgrade_sync(f"sqlite:///{tmp}/head.db")
        HEAD_SCRIPTS["sqlite"].write_text(dump_sqlite(f"{tmp}/head.db"), encoding="utf-8")
    if len(sys.argv) > 1:
        HEAD_SCRIPTS["postgresql"].write_text(dump_postgresql(sys.argv[1]), encoding="utf-8")
    sys.stdout.write(f"wrote {', '.join(map(str, HEAD_SCRIPTS.values()))}\n")
