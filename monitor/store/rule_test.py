""" "Test" of the rule workbench and ``POST /api/v1/rules/test``: what a query would have
caught over the archive, before it is saved.

The query is compiled as a one-rule matcher and run over the releases first seen since
``since`` (the full-text index narrows the candidates, the matcher decides: the archive
search's own path, ``store.archive``). It counts the releases it matches, the stories they
make (a story is alerted once per channel: those are the alerts it would have sent), both
per day in the config's zone, and keeps the newest ``SAMPLES`` releases with their hits
marked and why they matched. It sends and stores nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta, tzinfo

from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.config.model import Config
from monitor.model import Hit, document_of
from monitor.store.archive import _LIST_COLUMNS, ReleaseFilter, _card, _read, compile_query
from monitor.store.shapes import HitShape, ReleaseCard, Shape, When, public_url
from monitor.store.tables import RELEASES

SAMPLES = 10
SCAN = 500  # candidates read at once
MAX_MATCHES = 50_000  # past this many matched releases the counts stop (``truncated``)


class DayCount(Shape):
    date: date
    count: int  # releases matched, first seen that day
    stories: int  # stories they began: the alerts per channel it would have sent


class Sample(Shape):
    release: int
    title: str
    source: str
    first_seen_at: When
    matches: list[HitShape]
    why: str  # the terms that matched and where
    card: ReleaseCard  # title and snippet with the hits marked


class RuleTest(Shape):
    query: str
    since: When
    releases: int
    stories: int
    per_day: list[DayCount]
    samples: list[Sample]
    truncated: bool = False


def explain(hits: Sequence[Hit], total: int | None = None) -> str:
    """``matched "الناتو" in the title, "NATO" in the content (3 hits)``."""
    from monitor.rules.normalize import normalize

    places: dict[str, list[str]] = {}
    seen: set[tuple[str, str]] = set()
    for hit in hits:
        terms = places.setdefault(hit.field, [])
        key = (hit.field, normalize(hit.term))  # the same word, however it was written
        if key not in seen:
            seen.add(key)
            terms.append(hit.term)
    parts = [
        ", ".join(f"“{t}”" for t in terms[:5]) + f" in the {field}"
        for field, terms in places.items()
    ]
    count = total if total is not None else len(hits)
    return "matched " + "; ".join(parts) + (f" ({count} hits)" if count > 1 else "")


async def try_rule(
    engine: AsyncEngine,
    config: Config,
    query: str,
    *,
    since: datetime,
    sources: Sequence[str] = (),
    samples: int = SAMPLES,
) -> RuleTest:
    """Run ``query`` over the archive since ``since``; ``QuerySyntaxError`` if it does not
    parse (with its column), before anything is read."""
    compiled = compile_query(config, query)
    zone = config.zone
    filters = ReleaseFilter(since=since, stories=False)
    columns = (*_LIST_COLUMNS, RELEASES.c.content)
    wanted = set(sources)
    releases = 0
    stories: set[int] = set()
    per_day: Counter[date] = Counter()
    story_days: Counter[date] = Counter()
    kept: list[Sample] = []
    truncated = False
    after: str | None = None
    if compiled is None:
        return RuleTest(query=query, since=since, releases=0, stories=0, per_day=[], samples=[])
    async with engine.connect() as connection:
        while True:
            rows, after = await _read(connection, columns, filters, compiled, SCAN, after)
            for row in rows:
                if wanted and row.source_id not in wanted:
                    continue
                hits = compiled.hits(document_of(row.source_id, row))
                if hits is None:
                    continue
                releases += 1
                day = row.first_seen_at.astimezone(zone).date()
                per_day[day] += 1
                story = row.story_id if row.story_id is not None else -row.id
                if story not in stories:
                    stories.add(story)
                    story_days[day] += 1
                if len(kept) < samples:
                    kept.append(_sample(row, hits))
                if releases >= MAX_MATCHES:
                    truncated = True
                    break
            if truncated or after is None:
                break
    days = _days(since.astimezone(zone).date(), datetime.now(zone).date())
    return RuleTest(
        query=query,
        since=since,
        releases=releases,
        stories=len(stories),
        per_day=[DayCount(date=d, count=per_day[d], stories=story_days[d]) for d in days],
        samples=kept,
        truncated=truncated,
    )


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _sample(row: object, hits: Sequence[Hit]) -> Sample:
    card = _card(row, hits, [], [], public_url)
    return Sample(
        release=card.id,
        title=card.title,
        source=card.source,
        first_seen_at=card.first_seen_at,
        matches=[
            HitShape(field=h.field, term=h.term, start=h.start, end=h.end, snippet=h.snippet)
            for h in hits
        ],
        why=explain(hits),
        card=card,
    )


async def rule_activity(
    engine: AsyncEngine, zone: tzinfo, days: int = 30
) -> tuple[list[date], dict[str, list[int]]]:
    """Each rule's matches per day over the last ``days`` days (in ``zone``), oldest day
    first: the rules list's small charts (``ix_matches_matched``)."""
    from sqlalchemy import select

    from monitor.store.tables import MATCHES

    today = datetime.now(zone).date()
    span = _days(today - timedelta(days=days - 1), today)
    start = datetime.combine(span[0], time(), zone)
    statement = select(MATCHES.c.rule_id, MATCHES.c.matched_at).where(MATCHES.c.matched_at >= start)
    index = {day: n for n, day in enumerate(span)}
    counts: dict[str, list[int]] = {}
    async with engine.connect() as connection:
        rows = (await connection.execute(statement)).all()
        for rule_id, matched_at in rows:
            slot = index.get(matched_at.astimezone(zone).date())
            if slot is not None:
                counts.setdefault(rule_id, [0] * len(span))[slot] += 1
    return span, counts
