"""Bulk writers for ``bench.gen_archive``: SQLite by executemany in one transaction per
batch, PostgreSQL by COPY with the full-text index built once at the end."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit


# the rows the generator makes, as the tables take them (column order)
@dataclass
class Rows:
    releases: list[tuple[object, ...]] = field(default_factory=list)
    stories: list[tuple[object, ...]] = field(default_factory=list)
    matches: list[tuple[object, ...]] = field(default_factory=list)
    alerts: list[tuple[object, ...]] = field(default_factory=list)
    revisions: list[tuple[object, ...]] = field(default_factory=list)


RELEASE_COLUMNS = [
    "id",
    "source_id",
    "identity",
    "story_id",
    "url",
    "title",
    "summary",
    "content",
    "language",
    "published_at",
    "content_hash",
    "revision",
    "first_seen_at",
    "updated_at",
    "search_text",
    "matched_hash",
    "alertable",
]
STORY_COLUMNS = ["id", "created_at", "founder_release_id"]
MATCH_COLUMNS = ["id", "rule_id", "release_id", "story_id", "hits", "matched_at", "hit_count"]
ALERT_COLUMNS = [
    "id",
    "rule_id",
    "story_id",
    "channel_id",
    "release_id",
    "match_id",
    "status",
    "attempts",
    "last_error",
    "created_at",
    "next_attempt_at",
    "sent_at",
]
REVISION_COLUMNS = [
    "id",
    "release_id",
    "revision",
    "title",
    "summary",
    "content",
    "content_hash",
    "seen_at",
]
_ALARM_COLUMNS = ["source_id", "kind", "detail", "raised_at", "notified_at", "cleared_at"]
_TABLES = (
    ("stories", STORY_COLUMNS, "stories"),
    ("releases", RELEASE_COLUMNS, "releases"),
    ("release_revisions", REVISION_COLUMNS, "revisions"),
    ("matches", MATCH_COLUMNS, "matches"),
    ("alerts", ALERT_COLUMNS, "alerts"),
)


class Writer(Protocol):
    def sources(self, rows: list[dict[str, object]], alarms: list[tuple[object, ...]]) -> None: ...
    def write(self, rows: Rows) -> None: ...


def create_pg_database(url: str) -> None:
    """Make the database ``url`` names, on the same server, if it is not there."""
    import psycopg

    parts = urlsplit(url.replace("+psycopg", ""))
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        found = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
        if not found:
            connection.execute(f'CREATE DATABASE "{name}"')


def _sqlite_time(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


class SqliteWriter:
    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path)
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("PRAGMA cache_size=-200000")

    def sources(self, rows: list[dict[str, object]], alarms: list[tuple[object, ...]]) -> None:
        with self.db:
            for row in rows:
                names = [k for k in row if k != "id"]
                sets = ", ".join(f"{k} = ?" for k in names)
                values = [_sqlite_time(row[k]) for k in names]
                self.db.execute(f"UPDATE sources SET {sets} WHERE id = ?", [*values, row["id"]])
            self._many("alarms", _ALARM_COLUMNS, alarms)

    def _many(self, table: str, columns: Sequence[str], rows: list[tuple[object, ...]]) -> None:
        marks = ", ".join("?" for _ in columns)
        self.db.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
            ([_sqlite_time(v) for v in row] for row in rows),
        )

    def write(self, rows: Rows) -> None:
        with self.db:
            for table, columns, attribute in _TABLES:
                self._many(table, columns, getattr(rows, attribute))

    def close(self) -> None:
        self.db.close()


class PostgresWriter:
    def __init__(self, url: str) -> None:
        import psycopg

        parts = urlsplit(url.replace("+psycopg", "").replace("+asyncpg", ""))
        self.db: Any = psycopg.connect(urlunsplit(parts))
        # the full-text indexes are built once at the end: GIN maintenance row by row
        # costs several times more
        self.gin = self.db.execute(
            "SELECT indexname, indexdef FROM pg_indexes "
            "WHERE tablename = 'releases' AND indexdef LIKE '%USING gin%'"
        ).fetchall()
        for name, _definition in self.gin:
            self.db.execute(f"DROP INDEX {name}")
        self.db.commit()

    def sources(self, rows: list[dict[str, object]], alarms: list[tuple[object, ...]]) -> None:
        for row in rows:
            names = [k for k in row if k != "id"]
            sets = ", ".join(f"{k} = %s" for k in names)
            self.db.execute(
                f"UPDATE sources SET {sets} WHERE id = %s", [*(row[k] for k in names), row["id"]]
            )
        self._copy("alarms", _ALARM_COLUMNS, alarms)
        self.db.commit()

    def _copy(self, table: str, columns: Sequence[str], rows: list[tuple[object, ...]]) -> None:
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        with self.db.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)

    def write(self, rows: Rows) -> None:
        for table, columns, attribute in _TABLES:
            self._copy(table, columns, getattr(rows, attribute))
        self.db.commit()

    def close(self) -> None:
        for _name, definition in self.gin:
            self.db.execute(definition)
        for table in ("releases", "stories", "matches", "release_revisions", "alarms"):
            self.db.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 1) FROM {table}))"
            )
        self.db.commit()
        self.db.autocommit = True
        self.db.execute("VACUUM ANALYZE")
        self.db.close()


@contextmanager
def writer_for(database: str) -> Iterator[SqliteWriter | PostgresWriter]:
    if database.startswith("sqlite"):
        writer: SqliteWriter | PostgresWriter = SqliteWriter(database.split("///", 1)[1])
    else:
        writer = PostgresWriter(database)
    try:
        yield writer
    finally:
        writer.close()
