"""The stored rows. Uniqueness that the pipeline relies on is a database constraint:

- ``releases``: UNIQUE(source_id, identity) — a release is stored once per source, in its
  current version.
- ``release_revisions``: UNIQUE(release_id, revision) — the versions a revision superseded
  (a release never revised has none there).
- ``stories``: UNIQUE(founder_release_id) — a release founds one story at most.
- ``matches``: UNIQUE(rule_id, release_id) — a rule matches a release once.
- ``alerts``: UNIQUE(rule_id, story_id, channel_id) — one alert per story, rule and channel.
- ``story_bands``: PRIMARY KEY(band_key, release_id) — the LSH bands through which a copy
  finds its original; the match step that uses them is serialised (``store.matching``).
- ``users``: UNIQUE(name); ``api_tokens``: UNIQUE(name), UNIQUE(token_hash) — the console's
  people (``store.people``). Session ids and tokens are stored as SHA-256, never in clear.

The console lists releases and alerts newest first, a page at a time, by keyset: each
listing's order has its index (``ix_releases_seen``, ``ix_releases_source_seen``,
``ix_alerts_created``, ``ix_audit_at``), so a deep page costs what the first one does.

Every timestamp is stored in UTC (``UTCDateTime`` restores the zone SQLite drops).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine.processors import str_to_datetime
from sqlalchemy.sql.base import DialectKWArgs
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; monitor stores UTC-aware datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Any) -> Any:
        """The processor, which reuses its last answer for the same UTC time: a poll's
        rows share a moment (and a migrated feed's a date), and converting and formatting
        it for each of 50,000 rows was a tenth of the poll process's CPU."""
        process = super().bind_processor(dialect)
        if process is None:
            return None
        last: list[tuple[datetime, Any]] = []  # (value, answer): swapped whole, never mutated

        def memo(value: datetime | None) -> Any:
            # only UTC: equality of two times of another zone ignores ``fold``
            if value is None or value.tzinfo is not UTC:
                return process(value)
            seen = last[0] if last else None
            if seen is not None and seen[0] == value:
                return seen[1]
            answer = process(value)
            last[:] = [(value, answer)]
            return answer

        return memo

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        """``process_result_value`` after the dialect's own conversion, in one Python call
        a value (TypeDecorator's wraps the two in a third). On SQLite, whose text is UTC
        without an offset, the text is parsed with ``+00:00`` appended, an aware datetime in
        one step: parsing, then ``replace(tzinfo=UTC)``, took 3.5 µs a value against 0.5
        (``timeit``), and ``monitor sources`` reads 30,000 at 10,000 sources."""
        inner = self.impl_instance.result_processor(dialect, coltype)
        restore = self.process_result_value

        def process(value: Any) -> datetime | None:
            found: datetime | None = value if inner is None or value is None else inner(value)
            if found is None:
                return None
            if found.tzinfo is UTC:
                return found
            return found.replace(tzinfo=UTC) if found.tzinfo is None else found.astimezone(UTC)

        if inner is not str_to_datetime:  # PostgreSQL's aware values, or another format
            return process
        parse = datetime.fromisoformat

        def from_text(value: Any) -> datetime | None:
            if value is None:
                return None
            try:
                return parse(value + "+00:00")
            except (TypeError, ValueError):  # not the text UTCDateTime stores
                return restore(inner(value), dialect)

        return from_text


def now() -> datetime:
    return datetime.now(UTC)


class PartialIndex(Index):
    """An index of the rows ``where`` names, a clause for each dialect: ``sqlite_where``
    and ``postgresql_where`` handed to SQLAlchemy when its options are first read (DDL,
    Alembic), not when the table is declared. Given to ``Index`` itself, each is checked at
    once against its dialect's accepted keywords, which imports that dialect: on SQLite the
    PostgreSQL dialect and its five drivers, ~0.04 s of every command (``monitor
    sources``). Where the options are read, that dialect is in use and loaded anyway."""

    def __init__(self, name: str, *columns: str, where: dict[str, Any], **kw: Any) -> None:
        self._where = where
        super().__init__(name, *columns, **kw)

    @property
    def dialect_options(self) -> Any:
        options = self.__dict__.get("dialect_options")
        if options is None:  # SQLAlchemy's own collection, then the checked keywords
            options = self.__dict__["dialect_options"] = DialectKWArgs.dialect_options.fget(self)
            self._validate_dialect_kwargs({f"{d}_where": c for d, c in self._where.items()})
        return options


def _ts(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def _text(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(Text, nullable=nullable))


class SourceRow(SQLModel, table=True):
    __tablename__ = "sources"

    id: str = Field(primary_key=True, max_length=100)
    url: str = Field(sa_column=Column(Text, nullable=False))
    kind: str = Field(default="feed", max_length=10)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    status: str = Field(default="never", max_length=10)  # never | ok | failing
    last_poll_at: datetime | None = _ts()
    last_success_at: datetime | None = _ts()
    next_poll_at: datetime | None = _ts(index=True)
    last_error: str | None = _text()
    last_error_kind: str | None = Field(default=None, max_length=30)
    last_error_at: datetime | None = _ts()
    last_warning: str | None = _text()
    consecutive_failures: int = 0
    etag: str | None = _text()
    last_modified: str | None = Field(default=None, max_length=100)
    body_sha256: str | None = Field(default=None, max_length=64)
    moved_to: str | None = _text()
    baseline_done: bool = False
    items_seen: int = 0
    items_skipped: int = 0
    # the releases stored for the source, kept by triggers on ``releases`` (migration 0012)
    release_count: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    lease_owner: str | None = Field(default=None, max_length=100)
    lease_until: datetime | None = _ts()


class StoryRow(SQLModel, table=True):
    __tablename__ = "stories"
    __table_args__ = (Index("uq_stories_founder", "founder_release_id", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # the release that founded the story: a match step inserts its new stories in one
    # statement and maps them back by it. NULL for stories older than schema 0005, and once
    # retention prunes the founder (not a foreign key: it outlives that release)
    founder_release_id: int | None = None


_PENDING = "matched_hash IS NULL OR matched_hash != content_hash"


class ReleaseRow(SQLModel, table=True):
    __tablename__ = "releases"
    __table_args__ = (
        UniqueConstraint("source_id", "identity", name="uq_releases_source_identity"),
        # keyset order of the archive, whole and per source (migration 0009)
        Index("ix_releases_seen", "first_seen_at", "id"),
        Index("ix_releases_source_seen", "source_id", "first_seen_at", "id"),
        # the match step's queue (migration 0006): only the releases not yet matched
        PartialIndex(
            "ix_releases_pending",
            "id",
            where={"sqlite": text(_PENDING), "postgresql": text(_PENDING)},
        ),
        # the pending releases that may alert, matched before the others (0014)
        PartialIndex(
            "ix_releases_pending_alertable",
            "id",
            where={
                "sqlite": text(f"({_PENDING}) AND alertable = 1"),
                "postgresql": text(f"({_PENDING}) AND alertable"),
            },
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    source_id: str = Field(foreign_key="sources.id", max_length=100)
    identity: str = Field(sa_column=Column(Text, nullable=False))
    story_id: int | None = Field(default=None, foreign_key="stories.id", index=True)
    url: str | None = _text()
    title: str = Field(sa_column=Column(Text, nullable=False))
    summary: str = Field(default="", sa_column=Column(Text, nullable=False))
    content: str = Field(default="", sa_column=Column(Text, nullable=False))
    summary_raw: str | None = _text()
    content_raw: str | None = _text()
    author: str | None = _text()
    language: str | None = Field(default=None, max_length=20)
    published_at: datetime | None = _ts()
    published_raw: str | None = _text()
    content_hash: str = Field(max_length=64)
    revision: int = 1
    first_seen_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    search_text: str | None = _text()  # normalised words, for the full-text index
    # the work queue of the match step: a release whose matched_hash differs from its
    # content_hash has not been matched in its current version (new, revised, or a crash)
    matched_hash: str | None = Field(default=None, max_length=64)
    alertable: bool = True  # False: baseline-old or polled with --no-alerts
    story_bands: str | None = _text()  # LSH band keys of the body, space-separated


class ReleaseRevisionRow(SQLModel, table=True):
    __tablename__ = "release_revisions"
    __table_args__ = (UniqueConstraint("release_id", "revision", name="uq_revisions_release"),)

    id: int | None = Field(default=None, primary_key=True)
    release_id: int = Field(foreign_key="releases.id", index=True)
    revision: int
    title: str = Field(sa_column=Column(Text, nullable=False))
    summary: str = Field(default="", sa_column=Column(Text, nullable=False))
    content: str = Field(default="", sa_column=Column(Text, nullable=False))
    content_hash: str = Field(max_length=64)
    seen_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class MatchRow(SQLModel, table=True):
    __tablename__ = "matches"
    __table_args__ = (
        UniqueConstraint("rule_id", "release_id", name="uq_matches_rule_release"),
        Index("ix_matches_matched", "matched_at"),  # the console's latest matches
    )

    id: int | None = Field(default=None, primary_key=True)
    rule_id: str = Field(max_length=100)  # looked up through uq_matches_rule_release
    release_id: int = Field(foreign_key="releases.id", index=True)
    story_id: int | None = Field(default=None, foreign_key="stories.id")
    hits: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON list of hits
    matched_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # every hit found; ``hits`` holds the first ones (NULL before 0010: as many as it holds)
    hit_count: int | None = None


class AlertRow(SQLModel, table=True):
    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("rule_id", "story_id", "channel_id", name="uq_alerts_rule_story_channel"),
        Index("ix_alerts_due", "status", "next_attempt_at"),
        Index("ix_alerts_created", "created_at", "id"),  # the console's delivery log
        Index("ix_alerts_story", "story_id"),  # a release's page: its story's alerts
        Index("ix_alerts_channel_status", "channel_id", "status"),  # the channel list (0012)
        # the retries an operator asked for and that are not attempted yet (a handful)
        PartialIndex(
            "ix_alerts_retry_requested",
            "channel_id",
            "retry_requested_at",
            where={
                "sqlite": text("retry_requested_at IS NOT NULL"),
                "postgresql": text("retry_requested_at IS NOT NULL"),
            },
        ),
    )

    id: str = Field(primary_key=True, max_length=40)  # stable across retries: webhook-id
    rule_id: str = Field(max_length=100)
    story_id: int = Field(foreign_key="stories.id")
    channel_id: str = Field(max_length=100)
    release_id: int = Field(foreign_key="releases.id", index=True)
    match_id: int | None = Field(default=None, foreign_key="matches.id")
    status: str = Field(default="pending", max_length=10)  # pending|sent|failed|dead
    attempts: int = 0
    last_error: str | None = _text()
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    next_attempt_at: datetime | None = _ts()
    sent_at: datetime | None = _ts()
    lease_owner: str | None = Field(default=None, max_length=100)
    lease_until: datetime | None = _ts()
    # the digest (or rate-limit summary) that carries this alert; NULL: sent on its own
    digest_id: str | None = Field(default=None, max_length=40, index=True)
    # the message that carried it when sent on its own: one per story on the channels
    # people read, so several alerts may share one (the rate limit counts messages)
    message_id: str | None = Field(default=None, max_length=40)
    # an operator asked to try it now (``alerts retry``, the console's Retry): a channel
    # backing off after failures probes at once instead of at its probe time. Cleared by
    # the next attempt
    retry_requested_at: datetime | None = _ts()


class StoryBandRow(SQLModel, table=True):
    """One LSH band of one release. Every holder of a band is kept (not only the first), so
    a later copy finds its original even when an unrelated release shares that band."""

    __tablename__ = "story_bands"

    band_key: str = Field(primary_key=True, max_length=64)
    release_id: int = Field(primary_key=True, foreign_key="releases.id", index=True)
    story_id: int = Field(foreign_key="stories.id", index=True)
    # not indexed: bands are looked up by key, and their age is checked on the row
    first_seen_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


# Core handles of the tables, for queries: typed columns (``ALERTS.c.status``) where the
# SQLModel class attributes would need a cast at every use.
_tables = SQLModel.metadata.tables
SOURCES = _tables["sources"]
STORIES = _tables["stories"]
RELEASES = _tables["releases"]
REVISIONS = _tables["release_revisions"]
MATCHES = _tables["matches"]
ALERTS = _tables["alerts"]
BANDS = _tables["story_bands"]


class AlarmRow(SQLModel, table=True):
    """One episode of a source alarm (``monitor.ops.alarms``): open while ``cleared_at`` is
    NULL. At most one open episode per (source, kind), by a partial unique index, so of
    several instances only the one whose INSERT wins sends the notice. A flood notice is an
    event, not a condition: written closed, one row per channel."""

    __tablename__ = "alarms"
    __table_args__ = (
        PartialIndex(
            "uq_alarms_open",
            "source_id",
            "kind",
            unique=True,
            where={
                "sqlite": Column("cleared_at").is_(None),
                "postgresql": Column("cleared_at").is_(None),
            },
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    source_id: str = Field(max_length=100)  # no foreign key: history outlives a removed source
    kind: str = Field(max_length=20)  # failing | empty | silent | flood
    # a notice for this channel only (the flood guard's); NULL: the config's alarm_channels
    channel_id: str | None = Field(default=None, max_length=100)
    detail: str = Field(default="", sa_column=Column(Text, nullable=False))
    raised_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    notified_at: datetime | None = _ts()  # NULL: the notice is still to be sent
    cleared_at: datetime | None = _ts()
    recovery_notified_at: datetime | None = _ts()
    # while a notice (either) is being sent; a lease that ran out makes it due again
    notice_lease_until: datetime | None = _ts()


ALARMS = _tables["alarms"]


class DigestRow(SQLModel, table=True):
    """One batched message: a digest channel's periodic digest (``kind="digest"``) or a
    rate-limit summary (``kind="summary"``). Delivered, leased and retried like an alert;
    its alerts (``alerts.digest_id``) are assigned in the transaction that creates it, and
    take its status when it is sent, fails or dies."""

    __tablename__ = "digests"
    __table_args__ = (
        Index("ix_digests_due", "channel_id", "status", "next_attempt_at"),
        Index("ix_digests_sent", "channel_id", "sent_at"),
    )

    id: str = Field(primary_key=True, max_length=40)  # stable: webhook-id and Message-ID
    channel_id: str = Field(max_length=100)
    kind: str = Field(default="digest", max_length=10)  # digest | summary
    status: str = Field(default="pending", max_length=10)  # pending|sent|failed|dead
    attempts: int = 0
    last_error: str | None = _text()
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    period_end: datetime | None = _ts()  # the boundary that closed a digest's period
    next_attempt_at: datetime | None = _ts()
    sent_at: datetime | None = _ts()
    lease_owner: str | None = Field(default=None, max_length=100)
    lease_until: datetime | None = _ts()


DIGESTS = _tables["digests"]


class UserRow(SQLModel, table=True):
    """A console user. ``password_hash`` is Argon2id (None: signs in through a proxy only)."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("name", name="uq_users_name"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    role: str = Field(max_length=10)  # viewer | editor | admin
    password_hash: str | None = _text()
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ConsoleSessionRow(SQLModel, table=True):
    """A signed-in browser. The cookie holds the session id; only its SHA-256 is stored, so
    a copy of the database signs nobody in. Every instance reads it: logout ends it there."""

    __tablename__ = "console_sessions"

    id_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="users.id", index=True)
    csrf_token: str = Field(max_length=64)  # the session's token for forms and htmx calls
    address: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))


class ApiTokenRow(SQLModel, table=True):
    """A bearer token of the API, with its own role; shown once, stored as SHA-256."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        UniqueConstraint("name", name="uq_api_tokens_name"),
        UniqueConstraint("token_hash", name="uq_api_tokens_hash"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    role: str = Field(max_length=10)
    token_hash: str = Field(max_length=64)
    created_by: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_used_at: datetime | None = _ts()


class SignInFailureRow(SQLModel, table=True):
    """A failed sign-in. The fifth for a name or an address within the throttle window sets
    ``locks_until`` (``store.people``)."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (
        Index("ix_sign_in_failures_name", "name", "at"),
        Index("ix_sign_in_failures_address", "address", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    address: str = Field(max_length=64)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    locks_until: datetime | None = _ts()


class AuditRow(SQLModel, table=True):
    """One change: who, when, what, and the state before and after (JSON, never a secret)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_at", "at", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    actor: str = Field(max_length=100)
    action: str = Field(max_length=50)  # e.g. alert.retry, user.add, sign-in.failed
    target: str = Field(default="", max_length=200)
    before: str | None = _text()
    after: str | None = _text()
    address: str | None = Field(default=None, max_length=64)


USERS = _tables["users"]
CONSOLE_SESSIONS = _tables["console_sessions"]
API_TOKENS = _tables["api_tokens"]
SIGN_IN_FAILURES = _tables["sign_in_failures"]
AUDIT = _tables["audit_log"]
