"""What the console, its API and the CLI read: sources, alerts, channels, rules, overview.

Each function returns the shapes of ``store.shapes``, so a page, an API answer and a
``--json`` line are the same data. Listings are newest first and paged by keyset
(``store.keyset``) on an index in their order; a page reads its related rows (titles,
rules) with one more query, never one per row. Releases live in ``store.archive``.

The CLI's ``sources`` and ``alerts`` read through these same functions; ``shown`` is how a
URL is hidden (``public_url`` drops its credentials, the CLI writes ``***`` for them).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar, overload

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.config.model import AnyChannel, Config
from monitor.redact import redact_text
from monitor.store import keyset
from monitor.store.shapes import (
    AlarmEpisode,
    AlertDetail,
    AlertItem,
    AlertPage,
    ChannelItem,
    CopyLink,
    HitShape,
    LatestMatch,
    Overview,
    RuleItem,
    SourceHealth,
    public_url,
)
from monitor.store.tables import ALARMS, ALERTS, MATCHES, RELEASES, SOURCES, AlertRow, now

# muted: made while its rule was muted (``store.items``), recorded and never sent
ALERT_STATUSES = ("pending", "sent", "failed", "dead", "muted")
Shown = Callable[[str | None], str | None]  # a URL as it may be shown
Health = TypeVar("Health")


def _redacted(text: str | None) -> str | None:
    """An error text, any URL in it without its credentials."""
    return redact_text(text) if text else text


async def _new_counts(engine: AsyncEngine, since: datetime, only: str | None) -> dict[str, int]:
    """Releases first seen since ``since``, by source. Counted here, not by GROUP BY:
    SQLite would group by walking ``ix_releases_source_seen`` whole (a million entries)
    rather than read the day's range of ``ix_releases_seen``."""
    statement = select(RELEASES.c.source_id).where(RELEASES.c.first_seen_at >= since)
    if only is not None:
        statement = statement.where(RELEASES.c.source_id == only)
    async with engine.connect() as connection:
        return dict(Counter((await connection.execute(statement)).scalars()))


_HEALTH_COLUMNS = (
    "id",
    "status",
    "last_error",
    "last_warning",
    "last_poll_at",
    "last_success_at",
    "next_poll_at",
    "release_count",
    "items_seen",
    "items_skipped",
    "consecutive_failures",
    "moved_to",
)


@overload
async def source_health(
    engine: AsyncEngine, config: Config, only: str | None = None, *, shown: Shown = public_url
) -> list[SourceHealth]: ...


@overload
async def source_health(
    engine: AsyncEngine,
    config: Config,
    only: str | None = None,
    *,
    shown: Shown = public_url,
    shape: Callable[..., Health],
) -> list[Health]: ...


async def source_health(
    engine: AsyncEngine,
    config: Config,
    only: str | None = None,
    *,
    shown: Shown = public_url,
    shape: Callable[..., Any] = SourceHealth,
) -> list[Any]:
    """Each configured source (or only ``only``) with its polling state and counts, as a
    ``SourceHealth`` each, or as ``shape`` makes it from ``SourceHealth``'s fields (the
    CLI's plain tuple: validating 10,000 models it prints and drops was a tenth of
    ``monitor sources``)."""
    # the columns shown, not the row: validators, leases and error times are a third of
    # the row's datetimes to decode (10,000 rows for ``monitor sources``)
    statement = select(*(SOURCES.c[name] for name in _HEALTH_COLUMNS))
    if only is not None:
        statement = statement.where(SOURCES.c.id == only)
    async with engine.connect() as connection:
        # unpacked below in ``_HEALTH_COLUMNS``' order: a ``Row``'s attribute
        # is a lookup by name, and twelve a row were a quarter of this read at 10,000
        rows = {row[0]: row for row in (await connection.execute(statement)).all()}
    recent = await _new_counts(engine, now() - timedelta(days=1), only)
    out: list[Any] = []
    for source in config.sources:
        row = rows.get(source.id)
        if row is None:
            continue
        (
            _,
            status,
            last_error,
            last_warning,
            last_poll_at,
            last_success_at,
            next_poll_at,
            release_count,
            items_seen,
            items_skipped,
            consecutive_failures,
            moved_to,
        ) = row
        out.append(
            shape(
                id=source.id,
                name=source.display_name,
                url=shown(source.url),
                type=source.type,
                status=status,
                last_error=_redacted(last_error),
                last_warning=_redacted(last_warning),
                last_poll_at=last_poll_at,
                last_success_at=last_success_at,
                next_poll_at=next_poll_at,
                releases=release_count,  # kept by triggers (migration 0012)
                new_24h=recent.get(source.id, 0),
                items_seen=items_seen,
                items_skipped=items_skipped,
                consecutive_failures=consecutive_failures,
                moved_to=shown(moved_to),
                language=source.language,
            )
        )
    return out


async def source_alarms(engine: AsyncEngine, source_id: str, limit: int = 20) -> list[AlarmEpisode]:
    """The source's alarm episodes, newest first: its history of failing or going quiet."""
    statement = (
        select(ALARMS)
        .where(ALARMS.c.source_id == source_id)
        .order_by(ALARMS.c.raised_at.desc())
        .limit(limit)
    )
    async with engine.connect() as connection:
        rows = (await connection.execute(statement)).all()
    return [
        AlarmEpisode(kind=r.kind, detail=r.detail, raised_at=r.raised_at, cleared_at=r.cleared_at)
        for r in rows
    ]


def _alert(row: object, shown: Shown = public_url) -> AlertItem:
    return AlertItem(
        id=row.id,  # type: ignore[attr-defined]
        rule=row.rule_id,  # type: ignore[attr-defined]
        channel=row.channel_id,  # type: ignore[attr-defined]
        release=row.release_id,  # type: ignore[attr-defined]
        story=row.story_id,  # type: ignore[attr-defined]
        status=row.status,  # type: ignore[attr-defined]
        attempts=row.attempts,  # type: ignore[attr-defined]
        last_error=row.last_error,  # type: ignore[attr-defined]
        created_at=row.created_at,  # type: ignore[attr-defined]
        next_attempt_at=row.next_attempt_at,  # type: ignore[attr-defined]
        sent_at=row.sent_at,  # type: ignore[attr-defined]
        title=row.title,  # type: ignore[attr-defined]
        source=row.source_id,  # type: ignore[attr-defined]
        url=shown(row.url),  # type: ignore[attr-defined]
        digest=row.digest_id,  # type: ignore[attr-defined]
    )


_ALERT_COLUMNS = (*ALERTS.c, RELEASES.c.title, RELEASES.c.source_id, RELEASES.c.url)


async def alert_page(
    engine: AsyncEngine,
    *,
    status: str | None = None,
    rule: str | None = None,
    channel: str | None = None,
    since: datetime | None = None,
    cursor: str | None = None,
    limit: int | None = None,
    shown: Shown = public_url,
) -> AlertPage:
    """The delivery log, newest first (``ix_alerts_created``), with each release's title."""
    size = keyset.clamp(limit)
    statement = (
        select(*_ALERT_COLUMNS)
        .join(RELEASES, RELEASES.c.id == ALERTS.c.release_id)
        .order_by(ALERTS.c.created_at.desc(), ALERTS.c.id.desc())
        .limit(size + 1)
    )
    for column, value in ((ALERTS.c.status, status), (ALERTS.c.rule_id, rule)):
        if value is not None:
            statement = statement.where(column == value)
    if channel is not None:
        statement = statement.where(ALERTS.c.channel_id == channel)
    if since is not None:
        statement = statement.where(ALERTS.c.created_at >= since)
    after = keyset.older_than(ALERTS.c.created_at, ALERTS.c.id, cursor)
    if after is not None:
        statement = statement.where(after)
    async with engine.connect() as connection:
        rows = (await connection.execute(statement)).all()
    items = [_alert(row, shown) for row in rows[:size]]
    more = len(rows) > size
    return AlertPage(
        items=items, next=keyset.encode(items[-1].created_at, items[-1].id) if more else None
    )


async def alerts_of_story(engine: AsyncEngine, story_id: int) -> list[AlertItem]:
    statement = (
        select(*_ALERT_COLUMNS)
        .join(RELEASES, RELEASES.c.id == ALERTS.c.release_id)
        .where(ALERTS.c.story_id == story_id)
        .order_by(ALERTS.c.created_at, ALERTS.c.id)
    )
    async with engine.connect() as connection:
        rows = (await connection.execute(statement)).all()
    return [_alert(row) for row in rows]


async def alert_detail(
    engine: AsyncEngine, config: Config, alert_id: str, *, shown: Shown = public_url
) -> AlertDetail | None:
    """One alert with its release's hits and copies, and the webhook body its channel gets
    (``outbox.alert_view``, as the delivery worker sends it)."""
    from monitor.notify.payload import build_payload
    from monitor.store.outbox import alert_view, load_claimed

    async with engine.connect() as connection:
        row = (
            await connection.execute(
                select(*_ALERT_COLUMNS)
                .join(RELEASES, RELEASES.c.id == ALERTS.c.release_id)
                .where(ALERTS.c.id == alert_id)
            )
        ).one_or_none()
    if row is None:
        return None
    alert = AlertRow.model_validate({c.name: row._mapping[c.name] for c in ALERTS.columns})
    (claimed,) = await load_claimed(engine, [alert])  # as the delivery worker reads it
    view = alert_view(config, claimed)
    hits = [HitShape(field=h.field, term=h.term, start=h.start, end=h.end, snippet=h.snippet)
            for h in claimed.hits]  # fmt: skip
    return AlertDetail(
        **_alert(row, shown).model_dump(),
        published_at=claimed.release.published_at,
        hits=hits,
        hit_total=claimed.hit_total or len(hits),
        copies=[CopyLink(source=s, url=shown(u)) for s, u in claimed.copies],
        payload=build_payload(view),
    )


async def latest_matches(engine: AsyncEngine, config: Config, limit: int = 10) -> list[LatestMatch]:
    statement = (
        select(
            MATCHES.c.rule_id,
            MATCHES.c.release_id,
            MATCHES.c.matched_at,
            RELEASES.c.source_id,
            RELEASES.c.title,
        )
        .join(RELEASES, RELEASES.c.id == MATCHES.c.release_id)
        .order_by(MATCHES.c.matched_at.desc(), MATCHES.c.id.desc())
        .limit(limit)
    )
    names = {r.id: r.display_name for r in config.rules}
    async with engine.connect() as connection:
        rows = (await connection.execute(statement)).all()
    return [
        LatestMatch(
            rule=r.rule_id,
            rule_name=names.get(r.rule_id, r.rule_id),
            release=r.release_id,
            source=r.source_id,
            title=r.title,
            matched_at=r.matched_at,
        )
        for r in rows
    ]


async def alert_counts(
    engine: AsyncEngine, since: datetime | None = None, by: str = "status"
) -> dict[str, dict[str, int]]:
    """Alerts by (``by`` column, status): ``{"ops-email": {"sent": 3}}``. All of them are
    grouped on ``ix_alerts_channel_status``; those ``since`` a time are read from that
    range of ``ix_alerts_created`` and counted here (SQLite would group the whole table)."""
    key = ALERTS.c.channel_id if by == "channel" else ALERTS.c.status
    if since is not None:
        statement = select(key, ALERTS.c.status).where(ALERTS.c.created_at >= since)
        async with engine.connect() as connection:
            pairs = Counter((row[0], row[1]) for row in await connection.execute(statement))
        counted = [(group, status, n) for (group, status), n in pairs.items()]
    else:
        statement = select(key, ALERTS.c.status, func.count()).group_by(key, ALERTS.c.status)
        async with engine.connect() as connection:
            counted = [tuple(row) for row in (await connection.execute(statement)).all()]
    out: dict[str, dict[str, int]] = {}
    for group, status, count in counted:
        out.setdefault(group, {})[status] = count
    return out


async def overview(engine: AsyncEngine, config: Config) -> Overview:
    """The front page: failing sources, the last 24 h of alerts by status, latest matches."""
    sources = await source_health(engine, config)
    counts = await alert_counts(engine, now() - timedelta(days=1))
    return Overview(
        failing=[s for s in sources if s.status == "failing"],
        sources=len(sources),
        alerts_24h={s: counts.get(s, {}).get(s, 0) for s in ALERT_STATUSES},
        latest=await latest_matches(engine, config),
    )


def rules_of(config: Config) -> list[RuleItem]:
    """The rules in force; those of the config file are ``origin: file`` (read-only)."""
    return [
        RuleItem(
            id=r.id,
            name=r.display_name,
            query=r.query,
            channels=list(r.channels),
            sources=list(r.sources),
            languages=list(r.languages),
        )
        for r in config.rules
    ]


async def channel_list(
    engine: AsyncEngine, config: Config, target_of: Callable[[AnyChannel], str]
) -> list[ChannelItem]:
    """Each channel with its alerts by status; what it reaches is ``target_of``'s to say
    (``notify.registry.shown_target``: the channel kinds are the notifiers' knowledge)."""
    counts = await alert_counts(engine, by="channel")
    out: list[ChannelItem] = []
    for spec in config.channels:
        digest = spec.digest
        label = None
        if digest is not None:
            label = (
                f"daily {digest.daily_at[0]:02d}:{digest.daily_at[1]:02d}"
                if digest.daily_at
                else f"every {digest.every}"
            )
        out.append(
            ChannelItem(
                id=spec.id,
                type=spec.type,
                target=target_of(spec),
                digest=label,
                max_per_hour=spec.max_per_hour,
                alerts=counts.get(spec.id, {}),
            )
        )
    return out


def known(values: Sequence[str], value: str | None) -> bool:
    return value is None or value in values
