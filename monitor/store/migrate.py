"""Schema migrations (Alembic), applied cheaply.

``ensure_schema`` reads the stored revision with one query and compares it with ``HEAD``;
only when they differ does it load Alembic and upgrade. On PostgreSQL the upgrade holds an
advisory lock, so instances starting together migrate once and the others wait.
"""

from __future__ import annotations

import asyncio
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
    await asyncio.to_thread(upgrade_sync, url)
    return True
