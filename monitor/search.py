"""``releases --query``: the rule language over the archive. The matcher decides.

Releases are read in pages (newest first) and each is matched with the query compiled as
a one-rule matcher, so results agree exactly with what a rule would have alerted on.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.config.model import Config
from monitor.store import queries
from monitor.store.matching import document_of
from monitor.store.tables import ReleaseRow


async def search_releases(
    engine: AsyncEngine,
    config: Config,
    query: str,
    *,
    since: datetime | None,
    source: str | None,
    limit: int | None,
) -> list[ReleaseRow]:
    from monitor.errors import QuerySyntaxError
    from monitor.rules.matcher import RuleSpec, compile_rules

    try:
        matcher = compile_rules(
            [RuleSpec("query", "query", query)], {k: list(v) for k, v in config.concepts.items()}
        )
    except QuerySyntaxError as exc:
        from monitor.cli.common import EXIT_USAGE, fail

        fail(f"--query: {exc.message} at column {exc.column}", EXIT_USAGE)
    rows = await queries.list_releases(engine, since=since, source=source)
    found = [r for r in rows if matcher.match(document_of(r))]
    return found[:limit] if limit is not None else found
