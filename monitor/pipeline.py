"""One poll of one source, start to finish — the mission in one function:

    fetch → parse → derive identities → store new and revised → match → queue alerts

Stages never call each other; ``poll_source`` calls them in order and records the outcome
on the source's row. A failing source is recorded and skipped; it never raises. An item
that cannot be prepared or stored is skipped and reported (the source's warning and
``items_skipped``, a log line with its link); the rest of the feed is stored and alerted.
A poll that yields more alertable releases than the source's ``max_alerts_per_poll``
stores them all and alerts none one by one: each channel gets one notice instead
(``monitor.flood``), sent right after the poll.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.config.model import Config, Source
from monitor.errors import FetchError, FetchHTTPError, ParseError
from monitor.fetch import Fetcher, FetchLimits, FetchResult
from monitor.flood import FloodGuard
from monitor.model import Document, RuleMatch
from monitor.notify.base import Channel
from monitor.ops.alarms import send_floods
from monitor.parse.identity import ReleaseData, Skipped
from monitor.parse.known import WorkerMatches
from monitor.parse.prepare import Prepared, Recipe
from monitor.render import render_of
from monitor.schedule import next_after_failure, next_due
from monitor.store import polls
from monitor.store.coalesce import PollState
from monitor.store.match_queue import match_queue
from monitor.store.matching import StepResult
from monitor.store.releases import Batch, known_identities, store_batches
from monitor.store.tables import now

log = logging.getLogger("monitor.pipeline")


@dataclass
class PollContext:
    """What a poll needs from the outside world; the matcher may be swapped on reload."""

    engine: AsyncEngine
    config: Config
    fetcher: Fetcher
    # async: body, headers, url, recipe, now → Prepared (in the parse pool)
    prepare: Callable[[bytes, dict[str, str], str, Recipe, datetime], Awaitable[Prepared]]
    match: Callable[[Document], Sequence[RuleMatch]]
    owner: str
    no_alerts: bool = False
    backfill: timedelta | None = None  # widens the first-poll window (poll --backfill)
    rules_key: str | None = None  # the fingerprint of the rules ``match`` applies
    no_flood_guard: bool = False  # poll --no-flood-guard: alert every release, however many
    channels: Mapping[str, Channel] | None = None  # where flood notices go, right after a poll

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
    skipped: int = 0  # items left out: no title or link (listing), not prepared, not stored
    skip_reason: str | None = None  # the first one's
    held: int = 0  # alertable releases the flood guard did not alert one by one
    step: StepResult = field(default_factory=StepResult)


def limits_of(config: Config, source: Source) -> FetchLimits:
    settings = config.settings_of(source)
    return FetchLimits(deadline=settings.timeout.total_seconds(), max_bytes=settings.max_bytes)


async def poll_source(ctx: PollContext, source: Source) -> PollOutcome:
    config = ctx.config
    state = await polls.load_state(ctx.engine, source.id)
    extra = {"source": source.id, "action": "poll"}
    try:
        fetched = await ctx.fetcher.fetch(
            source.url,
            etag=state.etag,
            last_modified=state.last_modified,
            user_agent=config.settings_of(source).user_agent,
            limits=limits_of(config, source),
            render=render_of(source, listing=True),
            egress=config.egress_of(source),
        )
    except FetchError as exc:
        retry_after = exc.retry_after if isinstance(exc, FetchHTTPError) else None
        return await _failed(ctx, source, state, exc.kind, str(exc), retry_after)
    if fetched.not_modified or fetched.body_sha256 == state.body_sha256:
        await _succeeded(ctx, source, fetched, state.body_sha256, warning=None, items=None)
        log.info("unchanged", extra={**extra, "status": fetched.status})
        # nothing new to match: what a crash left behind is swept at start-up and by `poll`
        return PollOutcome(source.id, ok=True, not_modified=True)
    moment = now()
    try:
        prepared: Prepared = await ctx.prepare(
            fetched.body, fetched.headers, fetched.url, recipe_of(config, source), moment
        )
    except ParseError as exc:
        return await _failed(ctx, source, state, exc.kind, str(exc), None)
    except Exception as exc:  # a bug on some odd input must not stop the other sources
        log.exception("parsing crashed", extra={**extra, "action": "parse"})
        return await _failed(ctx, source, state, "internal", f"internal error: {exc!r}"[:300], None)
    baseline = not state.baseline_done
    cutoff = moment - (ctx.backfill or config.backfill_of(source))

    def alertable(release: ReleaseData) -> bool:
        return not ctx.no_alerts and (
            not baseline or (release.published is not None and release.published >= cutoff)
        )

    known = _matched_by_worker(ctx, prepared)
    batches: Callable[[], Iterable[Batch]]
    if source.full_text:
        batches = await _full_text_batches(ctx, source, prepared, alertable, known)
    else:
        batches = _batches(source, prepared, alertable, known)
    guard = None if ctx.no_flood_guard else FloodGuard(config, source, moment)
    stored = await store_batches(
        ctx.engine,
        source.id,
        batches,
        moment=moment,
        then=guard,  # holds the alerts of a flood back, in the same transaction
    )
    dropped = [*prepared.dropped, *stored.skipped]
    skipped = prepared.skipped + len(dropped)
    warning = "; ".join([*_skip_warning(dropped), *prepared.warnings]) or None
    # match before the poll is recorded as a success: the validators and body hash saved
    # with it make the next poll skip this body, so what a crash here leaves unmatched must
    # still meet a full poll next time
    step = await _match(ctx, source, known)
    await _succeeded(
        ctx,
        source,
        fetched,
        fetched.body_sha256,
        warning=warning,
        items=(prepared.entries, skipped),
    )
    new = sum(1 for s in stored.saved if s.revision == 1)
    outcome = PollOutcome(
        source.id,
        ok=True,
        warning=warning,
        entries=prepared.entries,
        new=new,
        revised=len(stored.saved) - new,
        skipped=skipped,
        skip_reason=dropped[0].reason if dropped else _LISTING_SKIP if skipped else None,
        held=guard.held if guard else 0,
        step=step,
    )
    _log(outcome, dropped, guard, {**extra, "status": fetched.status, "baseline": baseline})
    if stored.saved:
        await _send_flood_notices(ctx, extra)
    return outcome


def _log(
    outcome: PollOutcome,
    dropped: Sequence[Skipped],
    guard: FloodGuard | None,
    extra: Mapping[str, object],
) -> None:
    for item in dropped:
        log.warning("item skipped: %s", item.reason, extra={**extra, "url": item.where})
    log.info(
        "polled: %d entries, %d new, %d revised, %d skipped",
        outcome.entries,
        outcome.new,
        outcome.revised,
        outcome.skipped,
        extra=extra,
    )
    if guard is not None and guard.held:
        log.warning(
            "flood guard: %d alertable releases in one poll, over the limit of %d: "
            "one notice per channel instead of an alert each",
            guard.held,
            guard.limit,
            extra=extra,
        )


async def _send_flood_notices(ctx: PollContext, extra: Mapping[str, object]) -> None:
    """This poll's flood notices at once, and any a channel refused once its wait is over."""
    if ctx.channels is None:
        return
    try:
        await send_floods(ctx.engine, ctx.config, ctx.channels, now(), if_waiting=True)
    except Exception:  # they stay due: the next poll, `monitor poll` or an alarm check
        log.exception("flood notices not sent", extra={**extra, "action": "flood"})


async def _match(ctx: PollContext, source: Source, known: WorkerMatches | None) -> StepResult:
    # with whatever other polls finish meanwhile: one step, larger batches
    return await match_queue(ctx.engine).step(source.id, ctx.match, ctx.channels_of, known)


def _matched_by_worker(ctx: PollContext, prepared: Prepared) -> WorkerMatches | None:
    """What the parse worker matched, if it had the rules ``ctx`` applies; it learns each
    release as the store reads it (``_batches``). By the whole document as stored, so a
    release whose stored text differs from what the worker saw (its full text fetched
    since) is matched again here."""
    if prepared.packed_matches is None or prepared.rules_key != ctx.rules_key:
        return None
    return WorkerMatches(prepared)


def _batches(
    source: Source,
    prepared: Prepared,
    alertable: Callable[[ReleaseData], bool],
    known: WorkerMatches | None,
) -> Callable[[], Iterator[Batch]]:
    """The releases to store, a packed chunk at a time."""

    def batches() -> Iterator[Batch]:
        for number, chunk in enumerate(prepared.chunks()):
            if known is not None:
                known.add(source.id, number, chunk.releases)
            yield _batch(chunk.releases, chunk.search_text, chunk.bands, alertable)

    return batches


def _batch(
    releases: Sequence[ReleaseData],
    search_text: Sequence[str],
    bands: Sequence[str | None],
    alertable: Callable[[ReleaseData], bool],
) -> Batch:
    identities = [r.identity for r in releases]
    return Batch(
        releases,
        alertable={r.identity: alertable(r) for r in releases},
        search_text=dict(zip(identities, search_text, strict=True)),
        bands=dict(zip(identities, bands, strict=True)),
    )


async def _full_text_batches(
    ctx: PollContext,
    source: Source,
    prepared: Prepared,
    alertable: Callable[[ReleaseData], bool],
    known: WorkerMatches | None,
) -> Callable[[], list[Batch]]:
    """A page's new releases with their own pages' text, as one batch (a listing page
    holds a few dozen: each is fetched anyway)."""
    releases = list(prepared.releases)
    if known is not None:
        for number, chunk in enumerate(prepared.chunks()):
            known.add(source.id, number, chunk.releases)
    search = dict(zip((r.identity for r in releases), prepared.search_text, strict=True))
    bands = dict(zip((r.identity for r in releases), prepared.bands, strict=True))
    async with ctx.engine.connect() as connection:
        stored = await known_identities(connection, source.id, [r.identity for r in releases])
    # a stored release keeps the full text fetched when it was new: the listing's teaser
    # is not a revision of it
    releases = [r for r in releases if r.identity not in stored]
    releases = await _with_full_text(ctx, source, releases, search, bands)
    batch = _batch(
        releases,
        [search[r.identity] for r in releases],
        [bands[r.identity] for r in releases],
        alertable,
    )
    return lambda: [batch]


_LISTING_SKIP = "no title or no link"  # parse.listing's reason; its warning says how many


def _skip_warning(dropped: Sequence[Skipped]) -> list[str]:
    if not dropped:
        return []
    first = dropped[0]
    if len(dropped) == 1:
        return [f"1 item skipped ({first.where}): {first.reason}"]
    return [f"{len(dropped)} items skipped, e.g. {first.where}: {first.reason}"]


def recipe_of(config: Config, source: Source) -> Recipe:
    selectors = tuple(source.select.model_dump().items()) if source.select else ()
    return Recipe(
        source_kind=source.type,
        source_id=source.id,
        identity=source.identity,
        language=source.language,
        zone=config.zone_of(source).key,
        selectors=selectors,
    )


def credentialed(link: str, source_url: str) -> str:
    """``link`` with the source URL's credentials when both are on the same origin: release
    links are stored without userinfo (``canonical_url``), yet a site behind basic auth
    wants it for its articles as for its feed."""
    source, page = urlsplit(source_url), urlsplit(link)
    userinfo = source.netloc.rpartition("@")[0]
    same = (source.scheme, source.hostname, source.port) == (page.scheme, page.hostname, page.port)
    if not userinfo or not same or "@" in page.netloc:
        return link
    return urlunsplit(page._replace(netloc=f"{userinfo}@{page.netloc}"))


async def _with_full_text(
    ctx: PollContext,
    source: Source,
    releases: list[ReleaseData],
    search: dict[str, str],
    bands: dict[str, str | None],
) -> list[ReleaseData]:
    """Fetch each new release's own page and take its main text as the content."""
    from monitor.extract import extract_main_text
    from monitor.parse.identity import content_hash
    from monitor.parse.prepare import search_text, story_bands

    content_selector = source.select.content if source.select else None

    async def one(release: ReleaseData) -> ReleaseData:
        if not release.url:
            return release
        try:
            page = await ctx.fetcher.fetch(
                credentialed(release.url, source.url),
                user_agent=ctx.config.settings_of(source).user_agent,
                limits=limits_of(ctx.config, source),
                render=render_of(source, listing=False),
                egress=ctx.config.egress_of(source),
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
        full = replace(release, content=text)
        full = replace(full, content_hash=content_hash(full.title, full.summary, full.content))
        search[full.identity] = search_text(full)
        bands[full.identity] = story_bands(full)
        return full

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
    state: PollState,
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
