"""Delivering queued alerts: one worker per channel, retries with backoff, then dead.

Each channel drains its own due alerts, so a dead SMTP server never delays a webhook and a
slow webhook never delays email. A failure records its one-line error and schedules the
next attempt (``initial`` doubling to ``max``, with jitter) until ``give_up_after`` has
passed since the alert was queued; then, or on a permanent error, the alert is ``dead``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.config.model import Config, EmailChannel, LogChannel, Retry, WebhookChannel
from monitor.errors import DeliveryError
from monitor.notify.base import Channel
from monitor.notify.payload import AlertView
from monitor.store import outbox
from monitor.store.tables import now

log = logging.getLogger("monitor.delivery")


def build_channels(config: Config, client: httpx.AsyncClient) -> dict[str, Channel]:
    from monitor.notify.email import SmtpParams
    from monitor.notify.registry import build_channel
    from monitor.notify.render import Renderer

    renderer = Renderer()
    channels: dict[str, Channel] = {}
    for spec in config.channels:
        if isinstance(spec, EmailChannel):
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
                renderer=renderer,
            )
        elif isinstance(spec, WebhookChannel):
            channels[spec.id] = build_channel(
                "webhook",
                id=spec.id,
                url=spec.url,
                client=client,
                secret=spec.secret or None,
                timeout=spec.timeout.total_seconds(),
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
    sent: int = 0
    failed: int = 0
    dead: int = 0


class Deliverer:
    """Drains due alerts channel by channel. ``owner`` names this instance's leases."""

    def __init__(
        self, engine: AsyncEngine, config: Config, channels: Mapping[str, Channel], owner: str
    ) -> None:
        self.engine = engine
        self.config = config
        self.channels = channels
        self.owner = owner

    def _lease(self, channel_id: str) -> timedelta:
        spec = self.config.channel(channel_id)
        deadline = (
            spec.smtp.timeout
            if isinstance(spec, EmailChannel)
            else getattr(spec, "timeout", timedelta(seconds=15))
        )
        return deadline * 2 + timedelta(seconds=30)

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
        channel = self.channels[channel_id]
        while True:
            claimed = await outbox.claim_due(
                self.engine, channel_id, self.owner, lease=self._lease(channel_id)
            )
            if not claimed:
                return counts
            loaded = await outbox.load_claimed(self.engine, claimed)
            pending = [c.alert.id for c in loaded]
            try:
                for item in loaded:
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
        view = self.view(item)
        extra = {
            "channel": alert.channel_id,
            "rule": alert.rule_id,
            "release": alert.release_id,
            "alert": alert.id,
        }
        try:
            await channel.send(view)
        except DeliveryError as exc:
            spec = self.config.channel(alert.channel_id)
            moment = now()
            retry_at = (
                None
                if exc.permanent
                else retry_time(spec.retry, alert.attempts + 1, alert.created_at, moment)
            )
            await outbox.record_failure(self.engine, alert.id, self.owner, str(exc), retry_at)
            if retry_at is None:
                counts.dead += 1
                log.error("alert dead: %s", exc, extra={**extra, "action": "dead"})
            else:
                counts.failed += 1
                log.warning(
                    "alert failed, retry at %s: %s",
                    retry_at.isoformat(),
                    exc,
                    extra={**extra, "action": "retry"},
                )
            return
        await outbox.record_sent(self.engine, alert.id, self.owner)
        counts.sent += 1
        log.info("alert sent", extra={**extra, "action": "sent"})

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
