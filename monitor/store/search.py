"""An archive search's candidates: what the full-text index can find, newest first.

A query in the rule language is compiled as a one-rule matcher (``store.archive``);
``monitor.rules.prefilter`` derives from it what every match must contain, and that
becomes a condition on the release's words (FTS5 ``releases_fts`` on SQLite, the GIN
index on ``releases.search_vector`` on PostgreSQL). The index narrows, the matcher
decides, so results agree exactly with what a rule would have alerted on. A query that
can match without any word (only NOT parts or filters in some branch) has no condition.

Newest first, on PostgreSQL, in two steps, because no one plan is fast for every word:
the newest ``WINDOW`` releases are tested one by one (a common word fills a page there),
and if they hold too few, the GIN index finds the older ones (a rare word has few of
them to sort). Walking the time index through a million releases for a rare word, or
fetching 100,000 releases of a common one through the GIN index, each took seconds.
SQLite's planner makes the FTS5 match set first and then reads it in time order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Select, literal_column, select, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement, TextClause

from monitor.rules.prefilter import Requirement, to_fts5, to_tsquery
from monitor.store import keyset
from monitor.store.tables import RELEASES

WINDOW = 5_000  # the newest releases PostgreSQL tests one by one before using the index

# (columns, how many, strictly older than this cursor) -> the listing, filtered, newest first
Listing = Callable[[Sequence[Any], int, str | None], Select[Any]]


def index_condition(dialect: str, need: Requirement) -> ColumnElement[bool] | TextClause:
    """The full-text condition for ``need`` on ``dialect`` (the index text is bound)."""
    if dialect == "sqlite":
        return text(
            "releases.id IN (SELECT rowid FROM releases_fts WHERE releases_fts MATCH :fts)"
        ).bindparams(fts=to_fts5(need))
    return _matches(literal_column("releases.search_vector"), need)


def _matches(vector: Any, need: Requirement) -> ColumnElement[bool]:
    query = text("to_tsquery('simple', :fts)").bindparams(fts=to_tsquery(need))
    return vector.op("@@")(query)  # type: ignore[no-any-return]


async def candidates(
    connection: AsyncConnection,
    listing: Listing,
    columns: Sequence[Any],
    need: Requirement,
    batch: int,
    after: str | None,
) -> tuple[list[Any], str | None]:
    """Up to ``batch`` releases holding what ``need`` asks, newest first after ``after``,
    and where to go on from (None: no older release is left to look at)."""
    dialect = connection.dialect.name
    if dialect == "sqlite":
        statement = listing(columns, batch, after).where(index_condition(dialect, need))
        rows = list((await connection.execute(statement)).all())
        return rows, _last(rows) if len(rows) == batch else None
    seen, key = RELEASES.c.first_seen_at, RELEASES.c.id
    vector: Any = literal_column("releases.search_vector").label("vector")
    window = listing([key, vector], WINDOW, after).subquery()
    found = select(window.c.id).where(_matches(window.c.vector, need))
    statement = listing(columns, batch, after).where(key.in_(found))
    rows = list((await connection.execute(statement)).all())
    if len(rows) == batch:
        return rows, _last(rows)
    edge = (
        await connection.execute(listing([seen, key], 1, after).offset(WINDOW - 1))
    ).one_or_none()
    if edge is None:
        return rows, None  # the window held every release left
    # past the window, through the GIN index only: the planner, which cannot know how
    # rare a word is among a query's many forms, would walk the time index instead
    await connection.execute(text("SET LOCAL enable_indexscan = off"))
    await connection.execute(text("SET LOCAL enable_seqscan = off"))
    try:
        beyond = keyset.encode(edge.first_seen_at, edge.id)
        statement = listing(columns, batch - len(rows), beyond).where(
            index_condition(dialect, need)
        )
        rows += (await connection.execute(statement)).all()
    finally:
        await connection.execute(text("SET LOCAL enable_indexscan = on"))
        await connection.execute(text("SET LOCAL enable_seqscan = on"))
    return rows, _last(rows) if len(rows) == batch else None


def _last(rows: Sequence[Any]) -> str:
    return keyset.encode(rows[-1].first_seen_at, rows[-1].id)
