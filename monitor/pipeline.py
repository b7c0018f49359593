"""One poll of one source, start to finish — the mission in one function:

    fetch → parse → derive identities → store new and revised → match → queue alerts

Stages never call each other; ``poll_source`` calls them in order and records the outcome
on the source's row. A failing source is recorded and skipped; it never raises.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.config.model import Config, Source
from monitor.errors import FetchError, FetchHTTPError, ParseError
from monitor.fetch import Fetcher, FetchLimits, FetchResult
from monitor.model import Document, ParsedFeed, RuleMatch
from monitor.schedule import next_after_failure, next_due
from monitor.store import polls
from monitor.store.matching import StepResult, match_pending
from monitor.store.releases import known_identities, save_releases
from monitor.store.session import writing
from monitor.store.tables import SourceRow, now

log = logging.getLogger("monitor.pipeline")


@dataclass
class PollContext:
    """What a poll needs from the outside world; the matcher may be swapped on reload."""

    engine: AsyncEngine
    config: Config
    fetcher: Fetcher
    parse_feed: Callable[[bytes, dict[str, str], str, Source], Any]  # async: → ParsedFeed
    match: Callable[[Document], Sequence[RuleMatch]]
    owner: str
    no_alerts: bool = False
    backfill: timedelta | None = None  # widens the first-poll window (poll --backfill)

    def channels_of(self, rule_id: str) -> Sequence[str]:
        rule = next((r for r in self.config.rules if r.id == rule_id), None)
        return rule.channels if rule else ()


@dataclass
class PollOutcome:
    source_id: str
    ok: bool
    error: str | None = None
    warning: str | None = None
    not_modified: bool = False
    entries: int = 0
    new: int = 0
    revised: int = 0
    step: StepResult = field(default_factory=StepResult)


def limits_of(config: Config) -> FetchLimits:
    return FetchLimits(
        deadline=config.defaults.timeout.total_seconds(), max_bytes=config.defaults.max_bytes
    )


async def poll_source(ctx: PollContext, source: Source) -> PollOutcome:
    config = ctx.config
    state = await polls.load_state(ctx.engine, source.id)
    extra = {"source": source.id, "action": "poll"}
    try:
        fetched = await ctx.fetcher.fetch(
            source.url,
            etag=state.etag,
            last_modified=state.last_modified,
            user_agent=source.user_agent or config.defaults.user_agent,
            limits=limits_of(config),
        )
    except FetchError as exc:
        retry_after = exc.retry_after if isinstance(exc, FetchHTTPError) else None
        return await _failed(ctx, source, state, exc.kind, str(exc), retry_after)
    if fetched.not_modified or fetched.body_sha256 == state.body_sha256:
        await _succeeded(ctx, source, fetched, state.body_sha256, warning=None, items=None)
        log.info("unchanged", extra={**extra, "status": fetched.status})
        return PollOutcome(source.id, ok=True, not_modified=True, step=await _match(ctx, source))
    try:
        parsed: ParsedFeed = await ctx.parse_feed(
            fetched.body, fetched.headers, fetched.url, source
        )
    except ParseError as exc:
        return await _failed(ctx, source, state, exc.kind, str(exc), None)
    skipped = getattr(parsed, "skipped", 0)
    feed = getattr(parsed, "feed", parsed)
    releases, warnings = _derive(config, source, feed, fetched.url)
    moment = now()
    async with ctx.engine.connect() as connection:
        known = await known_identities(connection, source.id, [r.identity for r in releases])
    if source.full_text:
        releases = await _with_full_text(ctx, source, releases, known)
    baseline = not state.baseline_done
    cutoff = moment - (ctx.backfill or config.backfill_of(source))
    alertable = {
        r.identity: not ctx.no_alerts
        and (not baseline or (r.published is not None and r.published >= cutoff))
        for r in releases
    }
    from monitor.rules.normalize import index_text

    search = {r.identity: index_text(f"{r.title}\n{r.summary}\n{r.content}") for r in releases}
    async with writing(ctx.engine) as connection:
        saved = await save_releases(
            connection, source.id, releases, moment=moment, alertable=alertable, search_text=search
        )
    warning = "; ".join([*feed.warnings, *warnings]) or None
    await _succeeded(
        ctx,
        source,
        fetched,
        fetched.body_sha256,
        warning=warning,
        items=(len(feed.entries), skipped),
    )
    new = sum(1 for s in saved if s.revision == 1)
    outcome = PollOutcome(
        source.id,
        ok=True,
        warning=warning,
        entries=len(feed.entries),
        new=new,
        revised=len(saved) - new,
        step=await _match(ctx, source),
    )
    log.info(
        "polled: %d entries, %d new, %d revised",
        outcome.entries,
        outcome.new,
        outcome.revised,
        extra={**extra, "status": fetched.status, "baseline": baseline},
    )
    return outcome


async def _match(ctx: PollContext, source: Source) -> StepResult:
    return await match_pending(ctx.engine, ctx.match, ctx.channels_of, source_ids=[source.id])


def _derive(
    config: Config, source: Source, feed: ParsedFeed, url: str
) -> tuple[list[Any], list[str]]:
    """Identity and text for every entry (the shared step), plus language and date checks."""
    from monitor.parse.dates import clamp_future, parse_date
    from monitor.parse.identity import derive_all, detect_script_language

    moment = now()
    zone = config.zone_of(source)
    derived, derive_warnings = derive_all(feed, mode=source.identity, feed_url=url)
    warnings = list(derive_warnings)
    out = []
    for release in derived:
        language = (
            release.language
            or source.language
            or detect_script_language(f"{release.title} {release.content}")
        )
        published = release.published
        if release.published_raw:
            # feedparser reads a zone-less date as UTC; ours reads it in the source's zone,
            # knows Arabic month names, and says None rather than guess
            published = parse_date(release.published_raw, zone) or published
        if published is not None:
            published, problem = clamp_future(published, moment)
            if problem:
                warnings.append(problem)
        out.append(replace(release, language=language, published=published))
    return out, warnings[:3]


async def _with_full_text(
    ctx: PollContext, source: Source, releases: list[Any], known: set[str]
) -> list[Any]:
    """Fetch each new release's own page and take its main text as the content."""
    from monitor.extract import extract_main_text
    from monitor.parse.identity import content_hash

    content_selector = source.select.content if source.select else None

    async def one(release: Any) -> Any:
        if release.identity in known or not release.url:
            return release
        try:
            page = await ctx.fetcher.fetch(
                release.url,
                user_agent=source.user_agent or ctx.config.defaults.user_agent,
                limits=limits_of(ctx.config),
            )
            text = await asyncio.to_thread(
                extract_main_text, page.body, page.headers, page.url, content_selector
            )
        except (FetchError, ParseError) as exc:
            log.warning(
                "full text not fetched: %s", exc, extra={"source": source.id, "url": release.url}
            )
            return release
        if not text:
            return release
        updated = replace(release, content=text)
        return replace(
            updated, content_hash=content_hash(updated.title, updated.summary, updated.content)
        )

    return list(await asyncio.gather(*(one(r) for r in releases)))


async def _succeeded(
    ctx: PollContext,
    source: Source,
    fetched: FetchResult,
    body_sha256: str | None,
    *,
    warning: str | None,
    items: tuple[int, int] | None,
) -> None:
    await polls.record_success(
        ctx.engine,
        source.id,
        ctx.owner,
        polls.Success(
            next_poll_at=next_due(ctx.config, source, now()),
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            body_sha256=body_sha256,
            warning=warning,
            items_seen=items[0] if items else None,
            items_skipped=items[1] if items else None,
            moved_to=fetched.permanent_redirect,
        ),
    )


async def _failed(
    ctx: PollContext,
    source: Source,
    state: SourceRow,
    kind: str,
    error: str,
    retry_after: float | None,
) -> PollOutcome:
    moment: datetime = now()
    due = next_after_failure(
        ctx.config, source, moment, state.consecutive_failures + 1, retry_after
    )
    await polls.record_failure(
        ctx.engine, source.id, ctx.owner, kind=kind, error=error, next_poll_at=due
    )
    log.warning(
        "poll failed: %s", error, extra={"source": source.id, "action": "poll", "kind": kind}
    )
    return PollOutcome(source.id, ok=False, error=error)
