"""``releases --query``: the rule language over the archive. The index narrows, the matcher decides.

The query is compiled as a one-rule matcher, so results agree exactly with what a rule
would have alerted on. ``monitor.rules.prefilter`` derives from it what every match must
contain; that becomes a full-text condition on ``releases.search_text`` (FTS5
``releases_fts`` on SQLite, the GIN ``to_tsvector('simple', …)`` index on PostgreSQL).
A query that can match without any word (only NOT parts or filters in some branch) reads
every release. Candidates are read newest first, in pages, and reading stops as soon as
``limit`` releases have matched.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.elements import TextClause

from monitor.config.model import Config
from monitor.rules.prefilter import Requirement, requirement, to_fts5, to_tsquery
from monitor.store.matching import document_of
from monitor.store.tables import ReleaseRow

PAGE = 200  # candidates read per query


async def search_releases(
    engine: AsyncEngine,
    config: Config,
    query: str,
    *,
    since: datetime | None,
    source: str | None,
    limit: int | None,
) -> list[ReleaseRow]:
    """The releases ``query`` matches, newest first, at most ``limit`` of them."""
    from monitor.errors import QuerySyntaxError
    from monitor.rules.matcher import RuleSpec, compile_rules

    try:
        matcher = compile_rules(
            [RuleSpec("query", "query", query)], {k: list(v) for k, v in config.concepts.items()}
        )
    except QuerySyntaxError as exc:
        from monitor.cli.common import EXIT_USAGE, fail

        fail(f"--query: {exc.message} at column {exc.column}", EXIT_USAGE)
    need = requirement(matcher.rules[0].node)
    found: list[ReleaseRow] = []
    after: tuple[datetime, int] | None = None
    while limit is None or len(found) < limit:
        rows = await _candidates(engine, need, since=since, source=source, after=after)
        for row in rows:
            if matcher.match(document_of(row)):
                found.append(row)
                if limit is not None and len(found) >= limit:
                    break
        if len(rows) < PAGE:
            break
        last = rows[-1]
        assert last.id is not None
        after = (last.first_seen_at, last.id)
    return found


def index_condition(dialect: str, need: Requirement) -> TextClause:
    """The full-text condition for ``need`` on ``dialect`` (the index text is bound)."""
    if dialect == "sqlite":
        return text(
            "releases.id IN (SELECT rowid FROM releases_fts WHERE releases_fts MATCH :fts)"
        ).bindparams(fts=to_fts5(need))
    # the very expression of the GIN index, so the planner can use it
    return text(
        "to_tsvector('simple', coalesce(releases.search_text, '')) @@ to_tsquery('simple', :fts)"
    ).bindparams(fts=to_tsquery(need))


async def _candidates(
    engine: AsyncEngine,
    need: Requirement | None,
    *,
    since: datetime | None,
    source: str | None,
    after: tuple[datetime, int] | None,
) -> list[ReleaseRow]:
    seen, release_id = ReleaseRow.first_seen_at, ReleaseRow.id
    statement = select(ReleaseRow).order_by(seen.desc(), release_id.desc()).limit(PAGE)  # type: ignore[attr-defined,union-attr]
    if need is not None:
        statement = statement.where(index_condition(engine.dialect.name, need))
    if since is not None:
        statement = statement.where(seen >= since)  # type: ignore[arg-type]
    if source is not None:
        statement = statement.where(ReleaseRow.source_id == source)  # type: ignore[arg-type]
    if after is not None:  # keyset paging: strictly older than the last row read
        at, last_id = after
        statement = statement.where(
            or_(seen < at, and_(seen == at, release_id < last_id))  # type: ignore[arg-type,operator]
        )
    async with engine.connect() as connection:
        rows = (await connection.execute(statement)).all()
    return [ReleaseRow.model_validate(row._mapping) for row in rows]
