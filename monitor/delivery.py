"""Delivering queued alerts: one worker per channel, retries with backoff, then dead.

Each channel drains its own due alerts, so a dead SMTP server never delays a webhook and a
slow webhook never delays email. A failure records its one-line error and schedules the
next attempt (``initial`` doubling to ``max``, with jitter) until ``give_up_after`` has
passed since the alert was queued; then, or on a permanent error, the alert is ``dead``.

One run of a channel's worker (``deliver_channel``), everything due *now*, never waiting:

1. a digest channel gathers the alerts queued before the latest period boundary into a
   digest (``monitor.digest`` says when; ``store.digests`` makes it durable) — with
   ``max_per_hour``, only while the hour has room for another message;
2. any other channel sends its due alerts as messages — on email, chat and the log one per
   story (every rule that matched it), on a JSON webhook one per alert — up to ``WIDTH``
   at once; with ``max_per_hour``, at most the hour's remaining budget of messages, the
   excess gathered into one summary (``digest.rate_plan``);
3. due digests and summaries are sent, one message each, retried like alerts.

A channel whose attempts keep failing is left alone for a while (``notify.breaker``):
after 3 failures in a row nothing is attempted until a probe time, then one message;
what was not attempted meanwhile keeps its attempts and its place.

Leases: a claim lasts twice the channel's deadline plus one second and is renewed before
each send of a batch, so after a crash (SIGKILL) an in-flight alert is due again that soon
— a webhook with ``timeout: 1s`` within 3 s. The resend carries the same id. An attempt
is counted as it starts, so one cut off by a crash counts.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.config.model import Config, EmailChannel
from monitor.digest import RATE_WINDOW, group_by_rule, last_boundary, rate_plan
from monitor.errors import DeliveryError
from monitor.notify.base import Channel, group_stories, message_id, one_line
from monitor.notify.breaker import Breaker, backoff, retry_time
from monitor.notify.payload import AlertView
from monitor.notify.registry import build_channels as build_channels  # the runtime's
from monitor.store import digests, outbox
from monitor.store.tables import DigestRow, now
from monitor.times import local_time

log = logging.getLogger("monitor.delivery")

BATCH = 50  # alerts claimed at once
LEASE_MARGIN = timedelta(seconds=1)


@dataclass
class DeliveryCounts:
    """Alerts delivered (alone or in a digest), failed with a retry scheduled, and dead."""

    sent: int = 0
    failed: int = 0
    dead: int = 0


Message = list[outbox.Claimed]  # the alerts that leave together: one story, or one alert


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
        self.breakers: dict[str, Breaker] = {}
        # told (channel, status, alerts) after every attempt: the daemon's metrics listen
        self.observe: Callable[[str, str, int], None] = lambda channel, status, n: None

    def _deadline(self, channel_id: str) -> timedelta:
        spec = self.config.channel(channel_id)
        if isinstance(spec, EmailChannel):
            return spec.smtp.timeout
        return getattr(spec, "timeout", timedelta(seconds=15))

    def _lease(self, channel_id: str) -> timedelta:
        return self._deadline(channel_id) * 2 + LEASE_MARGIN

    def breaker(self, channel_id: str) -> Breaker:
        """The channel's breaker; it backs off as its alerts do (``retry.initial`` doubling)."""
        if channel_id not in self.breakers:
            retry = self.config.channel(channel_id).retry
            self.breakers[channel_id] = Breaker(pause=retry.initial, max_pause=retry.max)
        return self.breakers[channel_id]

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
        breaker = self.breaker(channel_id)
        moment = self.clock()
        if (
            breaker.opened_at is not None
            and not breaker.ready(moment)
            and await outbox.retry_requested(self.engine, channel_id, breaker.opened_at)
        ):
            breaker.probe_now(moment)
        if spec.digest is not None:
            room = await self._digest_room(channel_id, spec.max_per_hour, moment)
            if room > 0:
                boundary = last_boundary(spec.digest, self.config.zone, moment)
                await digests.gather_period(self.engine, channel_id, boundary, moment, room)
        elif breaker.ready(moment):
            limit = await self._rate_limit(channel, spec.max_per_hour, moment)
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

    async def _rate_limit(self, channel: Channel, per_hour: int | None, moment: datetime) -> int:
        """How many messages may go now; gathers the alerts of the excess into a summary."""
        if per_hour is None:
            return 1 << 62
        sent = await digests.sent_in_window(self.engine, channel.id, moment - RATE_WINDOW)
        due = await digests.due_messages(self.engine, channel.id, moment, channel.groups_stories)
        alone, gathered = rate_plan(len(due), per_hour - sent)
        if gathered:
            rest = [alert_id for message in due[alone:] for alert_id in message]
            summary = await digests.gather_summary(self.engine, channel.id, rest, moment)
            log.info(
                "rate limit: %d alerts gathered into one summary",
                len(rest),
                extra={"channel": channel.id, "digest": summary, "action": "summarise"},
            )
        return alone

    async def _deliver_singles(self, channel: Channel, limit: int, counts: DeliveryCounts) -> None:
        """Claim due alerts and send them as messages, ``limit`` messages at most."""
        breaker = self.breaker(channel.id)
        while limit > 0 and breaker.ready(self.clock()):
            moment = self.clock()
            claimed = await outbox.claim_due(
                self.engine,
                channel.id,
                self.owner,
                lease=self._lease(channel.id),
                limit=min(BATCH, limit),
                moment=moment,
                by_story=channel.groups_stories,
            )
            if not claimed:
                return
            loaded = await outbox.load_claimed(self.engine, claimed)
            messages = self._messages(channel, loaded)
            limit -= len(messages)
            await self._send_batch(channel, messages, moment + self._lease(channel.id), counts)

    def _messages(self, channel: Channel, loaded: Sequence[outbox.Claimed]) -> list[Message]:
        """The claimed alerts as messages: one per story (its rules in config order), or one
        per alert; in queue order."""
        if not channel.groups_stories:
            return [[item] for item in loaded]
        rank = {rule.id: i for i, rule in enumerate(self.config.rules)}
        stories = group_stories(loaded, lambda item: item.alert.story_id)
        return [
            sorted(s, key=lambda item: rank.get(item.alert.rule_id, len(rank))) for s in stories
        ]

    async def _send_batch(
        self,
        channel: Channel,
        messages: Sequence[Message],
        held_until: datetime,
        counts: DeliveryCounts,
    ) -> None:
        """Send the messages, up to the breaker's width at once, in order; stop starting new
        ones when the breaker opens (the rest is given back, unattempted)."""
        breaker = self.breaker(channel.id)
        queue = deque(messages)
        pending = {item.alert.id for message in messages for item in message}
        running: set[asyncio.Task[None]] = set()
        try:
            while queue or running:
                while queue and breaker.start(len(running), self.clock()):
                    if self.clock() + self._deadline(channel.id) + LEASE_MARGIN > held_until:
                        held_until = self.clock() + self._lease(channel.id)
                        await outbox.extend_lease(
                            self.engine, list(pending), self.owner, held_until
                        )
                    send = self._send_message(channel, queue.popleft(), pending, counts)
                    running.add(asyncio.create_task(send))
                if not running:
                    return  # the breaker is open: what is left stays due, untouched
                done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()
        finally:
            for task in running:
                task.cancel()
            if running:
                await asyncio.wait(running)
            # cancelled mid-batch (shutdown), or the breaker opened: the rest is due again
            # at once, not after the lease expires
            await asyncio.shield(outbox.release_lease(self.engine, list(pending), self.owner))

    async def _send_message(
        self, channel: Channel, message: Message, pending: set[str], counts: DeliveryCounts
    ) -> None:
        """One attempt at one message; its alerts recorded sent or failed together."""
        breaker = self.breaker(channel.id)
        ids = [item.alert.id for item in message]
        key = message_id(ids)
        extra = {
            "channel": channel.id,
            "rule": ",".join(item.alert.rule_id for item in message),
            "release": message[0].alert.release_id,
            "alert": ",".join(ids),
        }
        until = self.clock() + self._lease(channel.id)
        if not await outbox.start_attempt(self.engine, ids, self.owner, until):
            breaker.abandoned()  # another instance took them over
            pending.difference_update(ids)
            return
        try:
            await channel.send_story(key, [self.view(item) for item in message])
        except Exception as exc:  # a channel's bug too: retried, dead in the end, never a loop
            if not isinstance(exc, DeliveryError):
                log.exception("channel failed", extra={**extra, "action": "send"})
            error = (
                exc
                if isinstance(exc, DeliveryError)
                else DeliveryError(f"internal: {one_line(repr(exc))}")
            )
            if breaker.failed(self.clock()) == "opened":
                self._log_opened(channel.id, breaker, error)
            await self._record_failure(message, error, counts, extra)
            pending.difference_update(ids)
            return
        if breaker.succeeded() == "closed":
            log.info("channel works again", extra={"channel": channel.id, "action": "breaker"})
        await outbox.record_sent(self.engine, ids, self.owner, self.clock(), key)
        pending.difference_update(ids)
        counts.sent += len(ids)
        self.observe(channel.id, "sent", len(ids))
        log.info("alert sent", extra={**extra, "action": "sent"})

    async def _record_failure(
        self, message: Message, exc: DeliveryError, counts: DeliveryCounts, extra: dict[str, object]
    ) -> None:
        """The message's alerts retry together at one time; each dies if that is past its
        ``give_up_after`` (or at once on a permanent error)."""
        channel_id = str(extra["channel"])
        retry = self.config.channel(channel_id).retry
        moment = self.clock()
        at = moment + backoff(retry, max(item.alert.attempts for item in message) + 1)
        alive = [
            item.alert.id
            for item in message
            if not exc.permanent and at - item.alert.created_at <= retry.give_up_after
        ]
        dead = [item.alert.id for item in message if item.alert.id not in alive]
        await outbox.record_failure(self.engine, alive, self.owner, str(exc), at)
        await outbox.record_failure(self.engine, dead, self.owner, str(exc), None)
        if alive:
            self._count_failure(counts, len(alive), at, exc, extra)
        if dead:
            self._count_failure(counts, len(dead), None, exc, extra)

    def _log_opened(self, channel_id: str, breaker: Breaker, exc: DeliveryError) -> None:
        assert breaker.probe_at is not None
        log.warning(
            "%d failed attempts in a row: no more until %s, then one: %s",
            breaker.failures,
            local_time(breaker.probe_at, self.config.zone),
            exc,
            extra={"channel": channel_id, "action": "breaker"},
        )

    async def _deliver_digests(self, channel: Channel, counts: DeliveryCounts) -> None:
        breaker = self.breaker(channel.id)
        while breaker.start(0, self.clock()):
            digest = await digests.claim_due(
                self.engine,
                channel.id,
                self.owner,
                lease=self._lease(channel.id),
                moment=self.clock(),
            )
            if digest is None:
                breaker.abandoned()
                return
            try:
                await self._attempt_digest(channel, digest, counts)
            except BaseException:
                breaker.abandoned()
                await asyncio.shield(digests.release_lease(self.engine, digest.id, self.owner))
                raise

    async def _attempt_digest(
        self, channel: Channel, digest: DigestRow, counts: DeliveryCounts
    ) -> None:
        breaker = self.breaker(channel.id)
        alerts = await digests.alerts_of(self.engine, digest.id)
        loaded = await outbox.load_claimed(self.engine, alerts)
        views = group_by_rule([self.view(c) for c in loaded], [r.id for r in self.config.rules])
        extra = {
            "channel": channel.id,
            "digest": digest.id,
            "kind": digest.kind,
            "alerts": len(views),
        }
        until = self.clock() + self._lease(channel.id)
        if not await digests.start_attempt(self.engine, digest.id, self.owner, until):
            breaker.abandoned()
            return
        try:
            await channel.send_digest(digest.id, views)
        except DeliveryError as exc:
            if breaker.failed(self.clock()) == "opened":
                self._log_opened(channel.id, breaker, exc)
            retry_at = self._retry_at(channel.id, exc, digest.attempts, digest.created_at)
            await digests.record_failure(self.engine, digest.id, self.owner, str(exc), retry_at)
            self._count_failure(counts, len(views), retry_at, exc, extra)
            return
        breaker.succeeded()
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
                local_time(retry_at, self.config.zone),
                exc,
                extra={**extra, "action": "retry"},
            )

    def view(self, item: outbox.Claimed) -> AlertView:
        return outbox.alert_view(self.config, item)
