"""Delivering queued alerts: one worker per channel, retries with backoff, then dead.

Each channel drains its own due alerts, so a dead SMTP server never delays a webhook and a
slow webhook never delays email. A failure records its one-line error and schedules the
next attempt (``initial`` doubling to ``max``, with jitter) until ``give_up_after`` has
passed since the alert was queued; then, or on a permanent error, the alert is ``dead``.

One run of a channel's worker (``deliver_channel``), everything due *now*, never waiting:

1. a digest channel gathers the alerts queued before the latest period boundary into a
   digest (``monitor.digest`` says when; ``store.digests`` makes it durable) — with
   ``max_per_hour``, only while the hour has room for another message;
2. any other channel sends its due alerts one by one — with ``max_per_hour``, at most the
   hour's remaining budget, the excess gathered into one summary (``digest.rate_plan``);
3. due digests and summaries are sent, one message each, retried like alerts.

Leases: a claim lasts twice the channel's deadline plus one second and is renewed before
each send of a batch, so after a crash (SIGKILL) an in-flight alert is due again that soon
— a webhook with ``timeout: 1s`` within 3 s. The resend carries the same id.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.config.model import Config, EmailChannel, LogChannel, Retry, WebhookChannel
from monitor.digest import RATE_WINDOW, group_by_rule, last_boundary, rate_plan
from monitor.errors import DeliveryError
from monitor.notify.base import Channel
from monitor.notify.payload import AlertView
from monitor.store import digests, outbox
from monitor.store.tables import DigestRow, now

if TYPE_CHECKING:
    from monitor.notify.render import Renderer

log = logging.getLogger("monitor.delivery")

BATCH = 50  # alerts claimed at once
LEASE_MARGIN = timedelta(seconds=1)


def build_channels(config: Config, client: httpx.AsyncClient) -> dict[str, Channel]:
    """The configured channels. A channel type's module, and the templates, are loaded only
    when a channel needs them: a log-only config never imports the email stack."""
    from monitor.notify.registry import build_channel

    renderer: Renderer | None = None

    def templates() -> Renderer:
        nonlocal renderer
        if renderer is None:
            from monitor.notify.render import Renderer

            # relative to the working directory, as ``monitor check`` reads it
            renderer = Renderer(Path(config.templates) if config.templates else None)
        return renderer

    channels: dict[str, Channel] = {}
    for spec in config.channels:
        if isinstance(spec, EmailChannel):
            from monitor.notify.email import SmtpParams

            smtp = SmtpParams(
                host=spec.smtp.host,
                port=spec.smtp.port,
                tls=spec.smtp.tls,
                username=spec.smtp.username or None,
                password=spec.smtp.password or None,
                timeout=spec.smtp.timeout.total_seconds(),
                ca_file=spec.smtp.ca_file,
            )
            channels[spec.id] = build_channel(
                "email",
                id=spec.id,
                to=list(spec.to),
                sender=spec.sender,
                smtp=smtp,
                renderer=templates(),
            )
        elif isinstance(spec, WebhookChannel):
            channels[spec.id] = build_channel(
                "webhook",
                id=spec.id,
                url=spec.url,
                client=client,
                secret=spec.secret or None,
                timeout=spec.timeout.total_seconds(),
                format=spec.format,
                renderer=templates() if spec.format == "slack" else None,
            )
        elif isinstance(spec, LogChannel):
            channels[spec.id] = build_channel("log", id=spec.id)
    return channels


def retry_time(
    retry: Retry, attempts: int, queued_at: datetime, moment: datetime
) -> datetime | None:
    """When to try again after ``attempts`` failed attempts; None once retries are exhausted."""
    delay = min(retry.initial * (2 ** max(attempts - 1, 0)), retry.max)
    delay *= random.uniform(0.9, 1.1)
    at = moment + delay
    return None if at - queued_at > retry.give_up_after else at


@dataclass
class DeliveryCounts:
    """Alerts delivered (alone or in a digest), failed with a retry scheduled, and dead."""

    sent: int = 0
    failed: int = 0
    dead: int = 0


class Deliverer:
    """Drains due alerts channel by channel. ``owner`` names this instance's leases;
    ``clock`` gives the present (tests move it across period boundaries)."""

    def __init__(
        self,
        engine: AsyncEngine,
        config: Config,
        channels: Mapping[str, Channel],
        owner: str,
        clock: Callable[[], datetime] = now,
    ) -> None:
        self.engine = engine
        self.config = config
        self.channels = channels
        self.owner = owner
        self.clock = clock
        # told (channel, status, alerts) after every attempt: the daemon's metrics listen
        self.observe: Callable[[str, str, int], None] = lambda channel, status, n: None

    def _deadline(self, channel_id: str) -> timedelta:
        spec = self.config.channel(channel_id)
        if isinstance(spec, EmailChannel):
            return spec.smtp.timeout
        return getattr(spec, "timeout", timedelta(seconds=15))

    def _lease(self, channel_id: str) -> timedelta:
        return self._deadline(channel_id) * 2 + LEASE_MARGIN

    async def deliver_all(self) -> DeliveryCounts:
        """Deliver every alert due now on every channel, channels side by side."""
        results = await asyncio.gather(*(self.deliver_channel(c) for c in self.channels))
        total = DeliveryCounts()
        for r in results:
            total.sent += r.sent
            total.failed += r.failed
            total.dead += r.dead
        return total

    async def deliver_channel(self, channel_id: str) -> DeliveryCounts:
        counts = DeliveryCounts()
        spec = self.config.channel(channel_id)
        channel = self.channels[channel_id]
        moment = self.clock()
        if spec.digest is not None:
            room = await self._digest_room(channel_id, spec.max_per_hour, moment)
            if room > 0:
                boundary = last_boundary(spec.digest, self.config.zone, moment)
                await digests.gather_period(self.engine, channel_id, boundary, moment, room)
        else:
            limit = await self._rate_limit(channel_id, spec.max_per_hour, moment)
            await self._deliver_singles(channel, limit, counts)
        await self._deliver_digests(channel, counts)
        return counts

    async def _digest_room(self, channel_id: str, per_hour: int | None, moment: datetime) -> int:
        """How many digests a digest channel may close now: ``max_per_hour`` less what it sent
        in the last hour and what it has still to send. With none, a closed period's alerts
        stay queued and leave in the first digest the hour has room for."""
        if per_hour is None:
            return 1 << 62
        sent = await digests.sent_in_window(self.engine, channel_id, moment - RATE_WINDOW)
        return per_hour - sent - await digests.unsent_digests(self.engine, channel_id)

    async def _rate_limit(self, channel_id: str, per_hour: int | None, moment: datetime) -> int:
        """How many alerts may go one by one now; gathers the excess into a summary."""
        if per_hour is None:
            return 1 << 62
        sent = await digests.sent_in_window(self.engine, channel_id, moment - RATE_WINDOW)
        due = await digests.due_alert_ids(self.engine, channel_id, moment)
        alone, gathered = rate_plan(len(due), per_hour - sent)
        if gathered:
            summary = await digests.gather_summary(self.engine, channel_id, due[alone:], moment)
            log.info(
                "rate limit: %d alerts gathered into one summary",
                gathered,
                extra={"channel": channel_id, "digest": summary, "action": "summarise"},
            )
        return alone

    async def _deliver_singles(self, channel: Channel, limit: int, counts: DeliveryCounts) -> None:
        lease = self._lease(channel.id)
        while limit > 0:
            moment = self.clock()
            claimed = await outbox.claim_due(
                self.engine,
                channel.id,
                self.owner,
                lease=lease,
                limit=min(BATCH, limit),
                moment=moment,
            )
            if not claimed:
                return
            limit -= len(claimed)
            loaded = await outbox.load_claimed(self.engine, claimed)
            pending = [c.alert.id for c in loaded]
            held_until = moment + lease
            try:
                for item in loaded:
                    if self.clock() + self._deadline(channel.id) + LEASE_MARGIN > held_until:
                        held_until = self.clock() + lease
                        await outbox.extend_lease(self.engine, pending, self.owner, held_until)
                    await self._attempt(channel, item, counts)
                    pending.remove(item.alert.id)
            finally:
                # cancelled mid-batch (shutdown): the rest is due again at once, not after
                # the lease expires
                await asyncio.shield(outbox.release_lease(self.engine, pending, self.owner))

    async def _attempt(
        self, channel: Channel, item: outbox.Claimed, counts: DeliveryCounts
    ) -> None:
        alert = item.alert
        extra = {
            "channel": alert.channel_id,
            "rule": alert.rule_id,
            "release": alert.release_id,
            "alert": alert.id,
        }
        try:
            await channel.send(self.view(item))
        except DeliveryError as exc:
            retry_at = self._retry_at(alert.channel_id, exc, alert.attempts, alert.created_at)
            await outbox.record_failure(self.engine, alert.id, self.owner, str(exc), retry_at)
            self._count_failure(counts, 1, retry_at, exc, extra)
            return
        await outbox.record_sent(self.engine, alert.id, self.owner, self.clock())
        counts.sent += 1
        self.observe(alert.channel_id, "sent", 1)
        log.info("alert sent", extra={**extra, "action": "sent"})

    async def _deliver_digests(self, channel: Channel, counts: DeliveryCounts) -> None:
        while True:
            digest = await digests.claim_due(
                self.engine,
                channel.id,
                self.owner,
                lease=self._lease(channel.id),
                moment=self.clock(),
            )
            if digest is None:
                return
            try:
                await self._attempt_digest(channel, digest, counts)
            except BaseException:
                await asyncio.shield(digests.release_lease(self.engine, digest.id, self.owner))
                raise

    async def _attempt_digest(
        self, channel: Channel, digest: DigestRow, counts: DeliveryCounts
    ) -> None:
        alerts = await digests.alerts_of(self.engine, digest.id)
        loaded = await outbox.load_claimed(self.engine, alerts)
        views = group_by_rule([self.view(c) for c in loaded], [r.id for r in self.config.rules])
        extra = {
            "channel": channel.id,
            "digest": digest.id,
            "kind": digest.kind,
            "alerts": len(views),
        }
        try:
            await channel.send_digest(digest.id, views)
        except DeliveryError as exc:
            retry_at = self._retry_at(channel.id, exc, digest.attempts, digest.created_at)
            await digests.record_failure(self.engine, digest.id, self.owner, str(exc), retry_at)
            self._count_failure(counts, len(views), retry_at, exc, extra)
            return
        await digests.record_sent(self.engine, digest.id, self.owner, self.clock())
        counts.sent += len(views)
        self.observe(channel.id, "sent", len(views))
        log.info("%s sent", digest.kind, extra={**extra, "action": "sent"})

    def _retry_at(
        self, channel_id: str, exc: DeliveryError, attempts: int, queued_at: datetime
    ) -> datetime | None:
        if exc.permanent:
            return None
        spec = self.config.channel(channel_id)
        return retry_time(spec.retry, attempts + 1, queued_at, self.clock())

    def _count_failure(
        self,
        counts: DeliveryCounts,
        n: int,
        retry_at: datetime | None,
        exc: DeliveryError,
        extra: dict[str, object],
    ) -> None:
        self.observe(str(extra["channel"]), "dead" if retry_at is None else "failed", n)
        if retry_at is None:
            counts.dead += n
            log.error("delivery dead: %s", exc, extra={**extra, "action": "dead"})
        else:
            counts.failed += n
            log.warning(
                "delivery failed, retry at %s: %s",
                retry_at.isoformat(),
                exc,
                extra={**extra, "action": "retry"},
            )

    def view(self, item: outbox.Claimed) -> AlertView:
        alert, release = item.alert, item.release
        sources = {s.id: s for s in self.config.sources}
        source = sources.get(release.source_id)
        rule = next((r for r in self.config.rules if r.id == alert.rule_id), None)
        return AlertView(
            alert_id=alert.id,
            rule_id=alert.rule_id,
            rule_name=rule.display_name if rule else alert.rule_id,
            release_id=str(release.id),
            source_id=release.source_id,
            source_name=source.display_name if source else release.source_id,
            title=release.title,
            url=release.url or "",
            published_at=release.published_at,
            language=release.language,
            summary=release.summary,
            matches=item.hits,
            copies=item.copies,
        )
