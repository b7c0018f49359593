"""The full-text condition of an archive search: what the index can rule out.

A query in the rule language is compiled as a one-rule matcher (``store.archive``);
``monitor.rules.prefilter`` derives from it what every match must contain, and that
becomes a condition on ``releases.search_text`` (FTS5 ``releases_fts`` on SQLite, the GIN
``to_tsvector('simple', …)`` index on PostgreSQL). The index narrows, the matcher decides,
so results agree exactly with what a rule would have alerted on. A query that can match
without any word (only NOT parts or filters in some branch) has no condition.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.sql.elements import TextClause

from monitor.rules.prefilter import Requirement, to_fts5, to_tsquery


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
