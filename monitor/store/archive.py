"""The archive as the console and the API read it: release listings and a release's page.

A listing is newest first by first-seen time, paged by keyset (``store.keyset``). Copies
are shown as one story: a release is left out when an earlier release of its story (a
smaller id) passes the same filters — that one is listed, with this one among its copies —
so each story appears once, at its first release, whichever page a copy falls on. The CLI's
``releases`` lists every release (``stories=False``) through the same function
(``every_release`` reads it a page at a time).

``q`` is the rule language, exactly as ``releases --query``: the query is compiled as a
one-rule matcher, ``store.search.candidates`` narrows the candidates with the full-text
index, and the matcher decides. Its hits are marked in the snippet and title.
A query that does not parse raises ``QuerySyntaxError`` (with its column) before any read.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.config.model import Config
from monitor.model import Document, Hit, document_of
from monitor.rules.snippet import make_snippet
from monitor.store import keyset
from monitor.store.reads import Shown
from monitor.store.shapes import (
    Copy,
    HitShape,
    MatchShape,
    ReleaseCard,
    ReleaseDetail,
    ReleasePage,
    Revision,
    Segment,
    public_url,
)
from monitor.store.tables import MATCHES, RELEASES, REVISIONS

SCAN = 200  # candidates read at once
COPIES_SHOWN = 10
SNIPPET = 200


@dataclass(frozen=True, slots=True)
class ReleaseFilter:
    q: str | None = None
    source: str | None = None
    language: str | None = None
    since: datetime | None = None  # first seen at or after
    until: datetime | None = None  # first seen before
    stories: bool = True  # each story once, at its first release; False: every release


class _Query:
    """``q`` compiled once: the matcher and the full-text requirement."""

    def __init__(self, config: Config, q: str) -> None:
        from monitor.rules.matcher import RuleSpec, compile_rules
        from monitor.rules.prefilter import requirement

        concepts = {k: list(v) for k, v in config.concepts.items()}
        self.matcher = compile_rules([RuleSpec("query", "query", q)], concepts)
        self.need = requirement(self.matcher.rules[0].node)

    def hits(self, doc: Document) -> tuple[Hit, ...] | None:
        found = self.matcher.match(doc, ignore_scopes=True)
        return found[0].hits if found else None


def compile_query(config: Config, q: str | None) -> _Query | None:
    """The compiled query, or None; raises ``QuerySyntaxError`` with the column."""
    return _Query(config, q) if q and q.strip() else None


_LIST_COLUMNS = (
    RELEASES.c.id,
    RELEASES.c.source_id,
    RELEASES.c.title,
    RELEASES.c.summary,
    RELEASES.c.url,
    RELEASES.c.language,
    RELEASES.c.published_at,
    RELEASES.c.first_seen_at,
    RELEASES.c.story_id,
)


def _filtered(statement: Any, filters: ReleaseFilter) -> Any:
    if filters.source is not None:
        statement = statement.where(RELEASES.c.source_id == filters.source)
    if filters.language:
        statement = statement.where(
            or_(
                RELEASES.c.language == filters.language,
                RELEASES.c.language.like(filters.language + "-%"),
            )
        )
    if filters.since is not None:
        statement = statement.where(RELEASES.c.first_seen_at >= filters.since)
    if filters.until is not None:
        statement = statement.where(RELEASES.c.first_seen_at < filters.until)
    return statement


def _passes(row: Any, filters: ReleaseFilter) -> bool:
    """Whether a copy passes the listing's filters (the query aside), as ``_filtered``."""
    if filters.source is not None and row.source_id != filters.source:
        return False
    if filters.language:
        language = row.language or ""
        if language != filters.language and not language.startswith(filters.language + "-"):
            return False
    if filters.since is not None and row.first_seen_at < filters.since:
        return False
    return not (filters.until is not None and row.first_seen_at >= filters.until)


async def release_page(
    engine: AsyncEngine,
    config: Config,
    filters: ReleaseFilter,
    *,
    cursor: str | None = None,
    limit: int | None = None,
    shown: Shown = public_url,
) -> ReleasePage:
    """One page of the archive: at most ``limit`` stories, each at its first release."""
    query = compile_query(config, filters.q)
    size = keyset.clamp(limit)
    columns = (*_LIST_COLUMNS, RELEASES.c.content) if query else _LIST_COLUMNS
    cards: list[ReleaseCard] = []
    after = cursor
    batch = min(SCAN, size + 10)  # most candidates are shown: read a page's worth first
    async with engine.connect() as connection:
        while True:
            rows, more = await _read(connection, columns, filters, query, batch, after)
            hits = {}
            for row in rows:
                found = query.hits(document_of(row.source_id, row)) if query else ()
                if found is not None:
                    hits[row.id] = found
            matched = [row for row in rows if row.id in hits]
            copies = await _copies(
                connection, {r.story_id for r in matched if r.story_id}, content=query is not None
            )
            rules = await _rules(connection, [r.id for r in matched])
            for row in matched:
                story = copies.get(row.story_id, []) if row.story_id else []
                if filters.stories and any(_earlier_listed(c, row, filters, query) for c in story):
                    continue  # listed at its story's first release
                cards.append(_card(row, hits[row.id], story, rules.get(row.id, []), shown))
                after = keyset.encode(row.first_seen_at, row.id)
                if len(cards) == size:
                    return ReleasePage(items=cards, next=after)
            if more is None:
                return ReleasePage(items=cards, next=None)
            after, batch = more, SCAN


async def _read(
    connection: Any,
    columns: Sequence[Any],
    filters: ReleaseFilter,
    query: _Query | None,
    batch: int,
    after: str | None,
) -> tuple[list[Any], str | None]:
    """Up to ``batch`` candidates after ``after``, and the cursor to go on from (None:
    none left). With a query, the full-text index finds them (``store.search``)."""
    from monitor.store.search import candidates

    def listing(cols: Sequence[Any], count: int, before: str | None) -> Any:
        statement = _filtered(
            select(*cols)
            .order_by(RELEASES.c.first_seen_at.desc(), RELEASES.c.id.desc())
            .limit(count),
            filters,
        )
        older = keyset.older_than(RELEASES.c.first_seen_at, RELEASES.c.id, before)
        return statement if older is None else statement.where(older)

    if query is not None and query.need is not None:
        return await candidates(connection, listing, columns, query.need, batch, after)
    rows = list((await connection.execute(listing(columns, batch, after))).all())
    more = keyset.encode(rows[-1].first_seen_at, rows[-1].id) if len(rows) == batch else None
    return rows, more


def _earlier_listed(copy: Any, row: Any, filters: ReleaseFilter, query: _Query | None) -> bool:
    if copy.id >= row.id or not _passes(copy, filters):
        return False
    return query is None or query.hits(document_of(copy.source_id, copy)) is not None


async def _copies(
    connection: Any, story_ids: set[int], *, content: bool = False
) -> dict[int, list[Any]]:
    """The releases of these stories, oldest first (one query for a page); ``content``
    only when a query is to be tried on them (a ministry's page can be megabytes)."""
    if not story_ids:
        return {}
    columns = (*_LIST_COLUMNS, RELEASES.c.content) if content else _LIST_COLUMNS
    statement = (
        select(*columns).where(RELEASES.c.story_id.in_(sorted(story_ids))).order_by(RELEASES.c.id)
    )
    out: dict[int, list[Any]] = {}
    for row in (await connection.execute(statement)).all():
        out.setdefault(row.story_id, []).append(row)
    return out


async def _rules(connection: Any, release_ids: Sequence[int]) -> dict[int, list[str]]:
    if not release_ids:
        return {}
    statement = (
        select(MATCHES.c.release_id, MATCHES.c.rule_id)
        .where(MATCHES.c.release_id.in_(release_ids))
        .order_by(MATCHES.c.rule_id)
    )
    out: dict[int, list[str]] = {}
    for release_id, rule_id in (await connection.execute(statement)).all():
        out.setdefault(release_id, []).append(rule_id)
    return out


async def every_release(
    engine: AsyncEngine,
    config: Config,
    filters: ReleaseFilter,
    *,
    limit: int | None = None,
    shown: Shown = public_url,
) -> list[ReleaseCard]:
    """Every release ``filters`` pass, newest first, at most ``limit``: ``release_page``
    page after page, as the CLI lists them."""
    found: list[ReleaseCard] = []
    cursor: str | None = None
    while limit is None or len(found) < limit:
        size = keyset.MAX_PAGE if limit is None else min(keyset.MAX_PAGE, limit - len(found))
        page = await release_page(engine, config, filters, cursor=cursor, limit=size, shown=shown)
        found.extend(page.items)
        if page.next is None:
            break
        cursor = page.next
    return found


def _copy(row: Any, shown: Shown = public_url) -> Copy:
    return Copy(
        id=row.id,
        source=row.source_id,
        title=row.title,
        url=shown(row.url),
        first_seen_at=row.first_seen_at,
    )


def _card(
    row: Any, hits: Sequence[Hit], story: Sequence[Any], rules: list[str], shown: Shown
) -> ReleaseCard:
    title_spans = [(h.start, h.end) for h in hits if h.field == "title"]
    body = next((h for h in hits if h.field in ("summary", "content")), None)
    if body is not None:
        text = row.summary if body.field == "summary" else row.content
        snippet = make_snippet(text, body.start, body.end, SNIPPET)
        segments = segments_of(snippet.text, [(snippet.mark_start, snippet.mark_end)])
    else:
        summary = " ".join((row.summary or "").split())
        cut = summary if len(summary) <= SNIPPET else summary[: SNIPPET - 1].rstrip() + "…"
        segments = [Segment(text=cut)] if cut else []
    return ReleaseCard(
        id=row.id,
        source=row.source_id,
        title=row.title,
        url=shown(row.url),
        published_at=row.published_at,
        first_seen_at=row.first_seen_at,
        story=row.story_id,
        language=row.language,
        snippet=segments,
        title_marks=segments_of(row.title, title_spans) if title_spans else [],
        rules=rules,
        copies=[_copy(c, shown) for c in story if c.id != row.id][:COPIES_SHOWN],
    )


def segments_of(text: str, spans: Iterable[tuple[int, int]]) -> list[Segment]:
    """``text`` cut into runs, the ``spans`` marked (overlapping spans merged)."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted((max(0, s), min(len(text), e)) for s, e in spans):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    out: list[Segment] = []
    at = 0
    for start, end in merged:
        if start > at:
            out.append(Segment(text=text[at:start]))
        out.append(Segment(text=text[start:end], mark=True))
        at = end
    if at < len(text) or not out:
        out.append(Segment(text=text[at:]))
    return out


def _valid_spans(text: str, hits: Iterable[HitShape | Hit]) -> list[tuple[int, int]]:
    """The spans whose text is still the term (hits of a release revised since are not)."""
    return [(h.start, h.end) for h in hits if text[h.start : h.end] == h.term]


async def release_detail(
    engine: AsyncEngine, config: Config, release_id: int, *, q: str | None = None
) -> ReleaseDetail | None:
    """A release with its text marked, its revisions, its story's copies and alerts."""
    from monitor.store.reads import alerts_of_story

    query = compile_query(config, q)
    async with engine.connect() as connection:
        row = (
            await connection.execute(select(RELEASES).where(RELEASES.c.id == release_id))
        ).one_or_none()
        if row is None:
            return None
        story = (
            (await _copies(connection, {row.story_id})).get(row.story_id, [])
            if row.story_id
            else []
        )
        match_rows = (
            await connection.execute(
                select(MATCHES)
                .where(MATCHES.c.release_id == release_id)
                .order_by(MATCHES.c.rule_id)
            )
        ).all()
        revisions = (
            await connection.execute(
                select(REVISIONS.c.revision, REVISIONS.c.title, REVISIONS.c.seen_at)
                .where(REVISIONS.c.release_id == release_id)
                .order_by(REVISIONS.c.revision)
            )
        ).all()
    names = {r.id: r.display_name for r in config.rules}
    matches = [
        MatchShape(
            rule=m.rule_id,
            rule_name=names.get(m.rule_id, m.rule_id),
            matched_at=m.matched_at,
            hits=[HitShape(**h) for h in json.loads(m.hits or "[]")],
        )
        for m in match_rows
    ]
    all_hits: list[HitShape | Hit] = [h for m in matches for h in m.hits]
    if query is not None:
        all_hits.extend(query.hits(document_of(row.source_id, row)) or ())
    marked = {
        field: segments_of(text, _valid_spans(text, [h for h in all_hits if h.field == field]))
        for field, text in (
            ("title", row.title),
            ("summary", row.summary),
            ("content", row.content),
        )
    }
    alerts = await alerts_of_story(engine, row.story_id) if row.story_id else []
    return ReleaseDetail(
        id=row.id,
        source=row.source_id,
        title=row.title,
        url=public_url(row.url),
        published_at=row.published_at,
        first_seen_at=row.first_seen_at,
        story=row.story_id,
        language=row.language,
        summary=row.summary,
        content=row.content,
        updated_at=row.updated_at,
        revision=row.revision,
        copies=[_copy(c) for c in story if c.id != row.id],
        matches=matches,
        alerts=alerts,
        revisions=[
            Revision(revision=r.revision, title=r.title, seen_at=r.seen_at) for r in revisions
        ],
        marked=marked,
    )
