"""The database engine: SQLite by default, PostgreSQL for shared deployments.

Operators write ``sqlite:///data/monitor.db`` or ``postgresql+psycopg://user@host/db``; the
async driver is chosen here. SQLite runs in WAL mode with a busy timeout so that
``monitor releases`` reads while the daemon writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from monitor.errors import StoreError

SQLITE_BUSY_TIMEOUT_MS = 30_000  # across processes (e.g. `monitor releases` beside `run`)
WAL_AUTOCHECKPOINT_PAGES = 1000  # of 4 KB: the WAL's disk space between checkpoints


def normalise_url(url: str, *, asynchronous: bool) -> str:
    """Map an operator's URL to the driver monitor uses (aiosqlite/pysqlite, psycopg 3)."""
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise StoreError(f"invalid database URL: {exc}") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        driver = "aiosqlite" if asynchronous else "pysqlite"
    elif backend == "postgresql":
        driver = "psycopg"
    else:
        raise StoreError(
            f"unsupported database {backend!r}: use sqlite:/// or postgresql+psycopg://"
        )
    return parsed.set(drivername=f"{backend}+{driver}").render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def ensure_sqlite_dir(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # A cold poll inserts 100,000 story-band keys in random order: with SQLite's default
    # 2 MB page cache it spills dirty pages mid-transaction. 4 MB per connection.
    cursor.execute("PRAGMA cache_size=-4000")
    # A checkpoint every 1000 pages (4 MB of WAL, SQLite's default). The WAL is reused from
    # its start only after a checkpoint, so until then it takes disk space: at 16 MB a
    # volume with less room filled up with WAL and, space freed, filled again before any
    # checkpoint — it never recovered. 16 MB saved ~4 % of a cold poll's CPU (bench_poll:
    # 17.5-18.2 s against 18.3-19.0 s over the process tree), not worth a stuck daemon.
    cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
    cursor.close()


def install_sqlite_pragmas(sync_engine: Any) -> None:
    event.listen(sync_engine, "connect", _sqlite_pragmas)


def _reset_sqlite(dbapi_connection: Any, _record: Any, _state: Any) -> None:
    """A connection back in the pool: rolled back only if a transaction is still open.

    SQLAlchemy's default reset rolls back every connection returned, and on aiosqlite a
    rollback is a trip to the connection's thread and back (a thread switch each way and a
    wake of the event loop) even when the transaction was committed: 13 a second, a tenth of
    the daemon's trips, in bench.scale at 33 polls a second. SQLite says whether one is
    open (``in_transaction``) without that trip; with none there is nothing to undo."""
    if dbapi_connection.driver_connection.in_transaction:
        dbapi_connection.rollback()


def _binary_arrays(dbapi_connection: Any, _record: Any) -> None:
    """Python lists go to PostgreSQL in the binary format. psycopg sends them as text by
    default, quoting and escaping every element in Python (a regex and a substitution per
    quote): the unnest arrays of a 50,000-item poll (``store.arrays``) took a third of its
    process's CPU, the matches' JSON hits 0.9 s of it. Binary arrays carry each element's
    length instead: 19 ms for those hits. What the text format allows besides, a list of
    mixed types, monitor never sends."""
    from psycopg.types.array import ListBinaryDumper

    dbapi_connection.driver_connection.adapters.register_dumper(list, ListBinaryDumper)


def create_engine(url: str) -> AsyncEngine:
    """An async engine for ``url``; SQLite gets WAL, a busy timeout and foreign keys."""
    if is_sqlite(url):
        ensure_sqlite_dir(url)
        engine = create_async_engine(
            normalise_url(url, asynchronous=True),
            # sqlite3 keeps 128 prepared statements per connection by default; a batched
            # insert of n rows is a new statement for every n, each holding its own
            # program: 70 MB held after a cold poll of 250 feeds. A few suffice.
            connect_args={"timeout": 30, "cached_statements": 8},
            pool_reset_on_return=None,  # _reset_sqlite's, below
        )
        install_sqlite_pragmas(engine.sync_engine)
        event.listen(engine.sync_engine, "reset", _reset_sqlite)
        return engine
    # pool_pre_ping stays (issue 23): checking the idle socket instead (no round trip, 125
    # µs less of the loop's CPU a checkout) missed a backend terminated a moment before the
    # checkout, its FATAL not sent yet; the statement then failed, and the terminate drill
    # saw a webhook sent twice (its "sent" not recorded). The ping's round trip closes that.
    engine = create_async_engine(
        normalise_url(url, asynchronous=True), pool_pre_ping=True, pool_size=10, max_overflow=10
    )
    event.listen(engine.sync_engine, "connect", _binary_arrays)
    return engine
