"""One poll of one source, start to finish — the mission in one function, ``poll``:

    fetch → unchanged? → prepare (in the parse pool) → full text → save, with the outcome,
    in one transaction → wake the matcher

Stages never call each other; ``poll`` calls them in order. The source's state comes from
the claim that leased it (``store.polls``); ``poll_driver.poll_once`` (``monitor poll``, the
demo, the tests) and the daemon (``monitor run``) are the two callers. A failing source is
recorded and skipped; it never raises. An item that cannot be prepared or stored is
skipped and reported (the source's warning and ``items_skipped``, a log line with its
link); the rest of the feed is stored. Matching and alerting are the match worker's
(``match_worker``): the saved releases are pending in the database until it has matched
them, so a crash between the two loses nothing. A poll that yields more alertable releases
than the source's ``max_alerts_per_poll`` stores them all and alerts none one by one: each
channel gets one notice instead (``monitor.flood``), sent right after the poll.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.config.model import Config, Source
from monitor.errors import FetchError, FetchHTTPError, ParseError
from monitor.fetch import Fetcher, FetchLimits, FetchResult
from monitor.flood import FloodGuard
from monitor.match_worker import Found, MatchWorker
from monitor.model import ReleaseData, Skipped
from monitor.notify.base import Channel
from monitor.ops.alarms import send_floods
from monitor.parse.prepare import Prepared, PreparedRelease, Recipe
from monitor.schedule import next_after_failure, next_due
from monitor.storable import storable
from monitor.store import polls
from monitor.store.polls import PollState
from monitor.store.releases import Batch, Stored, known_identities, store_batches
from monitor.store.tables import now

log = logging.getLogger("monitor.pipeline")

Records = Callable[[], Iterator[list[PreparedRelease]]]  # a body's records, a chunk at a time


@dataclass
class PollContext:
    """What a poll needs from the outside world (the runtime's, at the poll's start)."""

    engine: AsyncEngine
    config: Config
    fetcher: Fetcher
    # async: body, headers, url, recipe, now → Prepared (in the parse pool)
    prepare: Callable[[bytes, dict[str, str], str, Recipe, datetime], Awaitable[Prepared]]
    matcher: MatchWorker
    owner: str
    no_alerts: bool = False
    backfill: timedelta | None = None  # widens the first-poll window (poll --backfill)
    no_flood_guard: bool = False  # poll --no-flood-guard: alert every release, however many
    channels: Mapping[str, Channel] | None = None  # where flood notices go, right after a poll


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


def _fetch_options(config: Config, source: Source, *, listing: bool) -> dict[str, Any]:
    settings = config.settings_of(source)
    return {
        "user_agent": settings.user_agent,
        "limits": FetchLimits(
            deadline=settings.timeout.total_seconds(), max_bytes=settings.max_bytes
        ),
        "render": source.render_for(listing=listing),
        "egress": config.egress_of(source),
    }


async def poll(ctx: PollContext, source: Source, state: PollState) -> PollOutcome:
    """Poll ``source``, leased by this instance with ``state`` (the claim's)."""
    extra = {"source": source.id, "action": "poll"}
    try:
        fetched = await ctx.fetcher.fetch(
            source.url,
            etag=state.etag,
            last_modified=state.last_modified,
            **_fetch_options(ctx.config, source, listing=True),
        )
    except FetchError as exc:
        retry_after = exc.retry_after if isinstance(exc, FetchHTTPError) else None
        return await _failed(ctx, source, state, exc.kind, str(exc), retry_after)
    if fetched.not_modified or fetched.body_sha256 == state.body_sha256:
        success = _success(ctx, source, fetched, state.body_sha256, None, None)
        await polls.record_success(ctx.engine, source.id, ctx.owner, success)
        # debug: at scale most polls are this, hundreds a second; `monitor run` says how
        # many once a minute instead, and `monitor poll` prints its own line per source
        log.debug("unchanged", extra={**extra, "status": fetched.status})
        return PollOutcome(source.id, ok=True, not_modified=True)
    moment = now()
    try:
        recipe = recipe_of(ctx.config, source)
        prepared = await ctx.prepare(fetched.body, fetched.headers, fetched.url, recipe, moment)
    except ParseError as exc:
        return await _failed(ctx, source, state, exc.kind, str(exc), None)
    except Exception as exc:  # a bug on some odd input must not stop the other sources
        log.exception("parsing crashed", extra={**extra, "action": "parse"})
        return await _failed(ctx, source, state, "internal", internal_error(exc), None)
    records: Records = prepared.records
    if source.full_text:
        records = await _with_full_text(ctx, source, prepared)
    save = _Save(ctx, source, state, fetched, prepared, moment)
    stored = await store_batches(
        ctx.engine,
        source.id,
        save.batches(records),
        moment=moment,
        then=save.then,
        hold_over=save.guard.limit if save.guard is not None else None,
    )
    ctx.matcher.add(save.found(stored))
    ctx.matcher.wake()
    outcome = save.outcome(stored)
    _log(
        outcome,
        save.dropped,
        save.guard,
        {**extra, "status": fetched.status, "baseline": save.baseline},
    )
    if stored.saved:
        await _send_flood_notices(ctx, extra)
    return outcome


class _Save:
    """A changed body's releases on their way into the store, and the poll's outcome, saved
    in the same transaction (``then``): a crash keeps both or neither."""

    def __init__(
        self,
        ctx: PollContext,
        source: Source,
        state: PollState,
        fetched: FetchResult,
        prepared: Prepared,
        moment: datetime,
    ) -> None:
        self.ctx, self.source, self.fetched, self.prepared = ctx, source, fetched, prepared
        self.baseline = not state.baseline_done
        self.cutoff = moment - (ctx.backfill or ctx.config.backfill_of(source))
        self.guard = None if ctx.no_flood_guard else FloodGuard(ctx.config, source, moment)
        self.hits: dict[str, Found] = {}  # by identity, of the records the worker matched
        self.dropped: list[Skipped] = list(prepared.dropped)

    def alertable(self, release: ReleaseData) -> bool:
        return not self.ctx.no_alerts and (
            not self.baseline
            or (release.published is not None and release.published >= self.cutoff)
        )

    def batches(self, records: Records) -> Callable[[], Iterator[Batch]]:
        key = self.prepared.rules_key

        def batches() -> Iterator[Batch]:
            for chunk in records():
                releases = [r.release for r in chunk]
                yield Batch(
                    releases,
                    alertable={r.identity: self.alertable(r) for r in releases},
                    search_text={r.release.identity: r.search_text for r in chunk},
                    bands={r.release.identity: r.bands for r in chunk},
                )
                if key is not None:
                    for r in chunk:
                        if r.hits is not None:
                            hash_ = r.release.content_hash
                            self.hits[r.release.identity] = Found(hash_, key, r.hits)

        return batches

    async def then(self, connection: AsyncConnection, stored: Stored) -> None:
        if self.guard is not None:
            await self.guard(connection, stored)  # holds the alerts of a flood back
        self.dropped = [*self.prepared.dropped, *stored.skipped]
        items = (self.prepared.entries, self.skipped)
        success = _success(
            self.ctx, self.source, self.fetched, self.fetched.body_sha256, self.warning, items
        )
        await polls.record_success_on(connection, self.source.id, self.ctx.owner, success)

    @property
    def skipped(self) -> int:
        return self.prepared.skipped + len(self.dropped)

    @property
    def warning(self) -> str | None:
        return "; ".join([*_skip_warning(self.dropped), *self.prepared.warnings]) or None

    def found(self, stored: Stored) -> dict[int, Found]:
        """The worker's hits of the releases saved, by their ids: they travel to the matcher."""
        return {s.id: self.hits[s.identity] for s in stored.saved if s.identity in self.hits}

    def outcome(self, stored: Stored) -> PollOutcome:
        new = sum(1 for s in stored.saved if s.revision == 1)
        skipped = self.skipped
        return PollOutcome(
            self.source.id,
            ok=True,
            warning=self.warning,
            entries=self.prepared.entries,
            new=new,
            revised=len(stored.saved) - new,
            skipped=skipped,
            skip_reason=self.dropped[0].reason
            if self.dropped
            else _LISTING_SKIP
            if skipped
            else None,
            held=self.guard.held if self.guard else 0,
        )


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


async def _with_full_text(ctx: PollContext, source: Source, prepared: Prepared) -> Records:
    """A page's new releases with their own pages' text, as one chunk (a listing page holds
    a few dozen: each is fetched anyway). A stored release keeps the full text fetched when
    it was new: the listing's teaser is not a revision of it."""
    records = [r for chunk in prepared.records() for r in chunk]
    async with ctx.engine.connect() as connection:
        identities = [r.release.identity for r in records]
        stored = await known_identities(connection, source.id, identities)
    fresh = [r for r in records if r.release.identity not in stored]
    done = list(await asyncio.gather(*(_full_text(ctx, source, r) for r in fresh)))
    return lambda: iter([done])


async def _full_text(ctx: PollContext, source: Source, record: PreparedRelease) -> PreparedRelease:
    """The record with its release's own page's main text as the content."""
    from monitor.extract import extract_main_text
    from monitor.parse.identity import content_hash
    from monitor.parse.prepare import search_text, story_bands

    release = record.release
    if not release.url:
        return record
    content_selector = source.select.content if source.select else None
    try:
        page = await ctx.fetcher.fetch(
            credentialed(release.url, source.url),
            **_fetch_options(ctx.config, source, listing=False),
        )
        text = await asyncio.to_thread(
            extract_main_text, page.body, page.headers, page.url, content_selector
        )
    except (FetchError, ParseError) as exc:
        log.warning(
            "full text not fetched: %s", exc, extra={"source": source.id, "url": release.url}
        )
        return record
    if not text:
        return record
    full = replace(release, content=text)
    full = replace(full, content_hash=content_hash(full.title, full.summary, full.content))
    # the worker matched the teaser: the matcher matches the page's text
    return PreparedRelease(full, search_text(full), story_bands(full), hits=None)


def _success(
    ctx: PollContext,
    source: Source,
    fetched: FetchResult,
    body_sha256: str | None,
    warning: str | None,
    items: tuple[int, int] | None,
) -> polls.Success:
    return polls.Success(
        next_poll_at=next_due(ctx.config, source, now()),
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        body_sha256=body_sha256,
        # a warning may quote the feed: stored as any text is
        warning=None if warning is None else storable(warning),
        items_seen=items[0] if items else None,
        items_skipped=items[1] if items else None,
        moved_to=fetched.permanent_redirect,
    )


def internal_error(exc: BaseException) -> str:
    """A bug's one-line error, as ``sources`` shows it."""
    return f"internal error: {exc!r}"[:300]


async def record_failed(
    ctx: PollContext,
    source: Source,
    state: PollState,
    kind: str,
    error: str,
    retry_after: float | None,
) -> None:
    """Record the poll as failed, due again after its backoff (or ``retry_after``)."""
    due = next_after_failure(ctx.config, source, now(), state.consecutive_failures + 1, retry_after)
    await polls.record_failure(
        ctx.engine, source.id, ctx.owner, kind=kind, error=storable(error), next_poll_at=due
    )


async def _failed(
    ctx: PollContext,
    source: Source,
    state: PollState,
    kind: str,
    error: str,
    retry_after: float | None,
) -> PollOutcome:
    await record_failed(ctx, source, state, kind, error, retry_after)
    log.warning(
        "poll failed: %s", error, extra={"source": source.id, "action": "poll", "kind": kind}
    )
    return PollOutcome(source.id, ok=False, error=error)
