"""``monitor run``: a thin scheduler around the pipeline.

APScheduler (3.x) only fires ticks. What is due, leased and retried lives in the database:
each poll tick claims due sources (leases) and starts a poll for each, with the state the
claim returned (``pipeline.poll``, ``daemon.polling``); each delivery sweep starts one
worker per channel that has none running (a channel that had nothing to do is swept every
few seconds only). A poll that saves releases wakes the match worker
(``match_worker``), and a match run that queues alerts wakes delivery at once, so an
alert leaves well under a second after the poll that saw its release; a slower tick
sweeps what a crash or a failed match run left pending.

SIGTERM/SIGINT: stop taking work, give in-flight polls a few seconds, cancel the rest
(their leases are released, so nothing is stuck), exit 0 within 10 s. SIGHUP: reload the
config, validating it first; an invalid one is logged and the old one kept.

When the database is unreachable or cannot write, every tick would fail every second:
``ops.health.DatabaseHealth`` makes that one logged episode, during which the ticks skip
their work and one probe tries the database at a backoff (``_failed`` sends it each
failure; errors that are not the database's keep their traceback).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.config.model import Config
from monitor.daemon.polling import TICK_SECONDS, Polling
from monitor.daemon.stopping import finish
from monitor.errors import ConfigError
from monitor.live_config import WATCH_SECONDS
from monitor.runtime import Runtime

if TYPE_CHECKING:
    from monitor.notify.payload import AlertView
    from monitor.ops.health import DatabaseHealth
    from monitor.ops.leader import Leadership
    from monitor.ops.metrics import Metrics

log = logging.getLogger("monitor.daemon")

GRACE_SECONDS = 5.0
# polls wake the match worker: the sweep only finds what a crash or a failed run left
MATCH_SWEEP = 15.0
# seconds between two delivery sweeps of a channel that had nothing to do; a wake (an alert
# queued, a console retry) delivers at once, so this only delays a retry or a digest
IDLE_SWEEP = 5.0
SUMMARY = 60.0  # seconds between the lines that count the polls (one each is debug)


class Daemon(Polling):
    def __init__(self, config: Config, config_path: Path) -> None:
        super().__init__()
        self.config = config
        self.config_path = config_path
        self.stopping = asyncio.Event()
        self.workers: dict[str, asyncio.Task[object]] = {}
        self.ticks: set[asyncio.Task[object]] = set()  # scheduler jobs running now
        self._grace_ends = float("inf")  # (loop time) when shutdown stops waiting for work
        self.runtime: Runtime | None = None
        self.metrics: Metrics
        self.leadership: Leadership
        self.health: DatabaseHealth
        self._woken: dict[str, float] = {}  # (loop time) each channel's last wake
        self._idle_until: dict[str, float] = {}  # (loop time) idle channels' next sweep
        self.notice: asyncio.Task[None] | None = None  # the database alarm's, being sent

    async def run(self) -> None:
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        from monitor.ops.instance import acquire_instance_lock
        from monitor.ops.metrics import Metrics

        others = asyncio.all_tasks()  # not the daemon's: never cancelled at its shutdown
        # SQLite is the single-instance default: a second `run` on the same file is refused
        lock = acquire_instance_lock(self.config.database)
        self.metrics = Metrics()
        runtime = self.runtime = await Runtime.start(self.config)
        from monitor.ops.leader import Leadership

        self.leadership = Leadership(runtime.engine)
        from monitor.ops import health

        self.health = health.DatabaseHealth(
            runtime.engine, runtime.owner, alarm_after=health.ALARM_AFTER
        )
        runtime.deliverer.observe = self.metrics.record_alert_count
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(self.reload()))
        runtime.match_worker.matched = self.deliver_tick
        runtime.match_worker.failed = lambda exc: self._failed(
            exc, "matching failed", action="match"
        )
        await runtime.match_worker.drain()  # what a crash left
        from monitor.console.server import start_console

        # before the scheduler: an address in use stops `run` before any job has started
        console = await start_console(runtime, self.deliver_tick)
        scheduler = AsyncIOScheduler(event_loop=loop)
        every = {"max_instances": 1, "coalesce": True}
        scheduler.add_job(self._job(self.poll_tick), "interval", seconds=TICK_SECONDS, **every)
        scheduler.add_job(self._job(self.deliver_sweep), "interval", seconds=TICK_SECONDS, **every)
        scheduler.add_job(self._job(self.match_tick), "interval", seconds=MATCH_SWEEP, **every)
        scheduler.add_job(self._job(self.alarm_tick), "interval", seconds=60, **every)
        scheduler.add_job(self._job(self.summary_tick), "interval", seconds=SUMMARY, **every)
        scheduler.add_job(self._job(self.config_tick), "interval", seconds=WATCH_SECONDS, **every)
        scheduler.add_job(self._job(self.retention_tick), "interval", hours=1, **every)
        scheduler.start()
        server = await self._start_http(lambda: bool(scheduler.running))
        await self.retention_tick()
        log.info(
            "running: %d sources, %d rules, %d channels",
            len(self.config.sources),
            len(self.config.rules),
            len(self.config.channels),
            extra={"action": "start"},
        )
        await self.poll_tick()
        try:
            await self.stopping.wait()
        finally:
            scheduler.shutdown(wait=False)
            await self._settle_ticks()
            if console is not None:
                await console.stop()
            if server is not None:
                server.close()
                await server.wait_closed()
            await self.leadership.close()
            await self.shutdown()
            if lock is not None:
                lock.release()
            log.info("stopped", extra={"action": "stop"})
            # what a stuck shielded clean-up left behind would keep asyncio.run from ending
            await finish(asyncio.all_tasks() - others - {asyncio.current_task()}, 0.0)

    def _job(self, tick: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        """``tick`` as a scheduler job that shutdown can wait for: a job the event loop
        cancels on its way out (in a query, say) would be logged by APScheduler as a
        crash, with its traceback."""

        async def job() -> None:
            task = asyncio.current_task()
            assert task is not None
            self.ticks.add(task)
            try:
                await tick()
            except asyncio.CancelledError:
                if not self.stopping.is_set():
                    raise  # stopping: the next start does what this tick did not
            finally:
                self.ticks.discard(task)

        job.__qualname__ = getattr(tick, "__qualname__", "tick")
        return job

    async def _start_http(self, scheduler_running: Callable[[], bool]) -> asyncio.Server | None:
        from monitor.ops.http import readiness, start_http

        runtime = self.runtime
        if runtime is None or runtime.config.http is None:
            return None
        listen = runtime.config.http.listen
        server = await start_http(
            listen,
            readiness(runtime.engine, scheduler_running, self.health.problem),
            lambda: self.metrics.scrape(runtime.engine),
        )
        log.info("http endpoint on %s", listen, extra={"action": "http"})
        return server

    async def alarm_tick(self) -> None:
        from monitor.ops.alarms import check_alarms, send_floods
        from monitor.store.tables import now

        runtime = self.runtime
        if runtime is None or self.stopping.is_set():
            return
        if self.health.down or not await self.leadership.is_leader():
            return
        channels = runtime.deliverer.channels
        try:
            if runtime.config.alarm_channels:
                await check_alarms(runtime.engine, runtime.config, channels, now())
            else:  # no alarms, but a flood notice a channel refused is retried all the same
                await send_floods(runtime.engine, runtime.config, channels, now())
        except Exception as exc:
            self._failed(exc, "alarm check failed", action="alarms")

    async def summary_tick(self) -> None:
        """One line a minute for the polls: an unchanged feed is logged only with -v."""
        tally, self.tally = self.tally, Counter()
        if tally:
            log.info(
                "polls in the last %d s: %d unchanged, %d changed, %d failed",
                SUMMARY,
                tally["unchanged"],
                tally["ok"],
                tally["failed"],
                extra={"action": "poll"},
            )

    async def config_tick(self) -> None:
        """Rules and sources saved in the console (here or on another instance) come into
        force here as a SIGHUP's would, read from the database when its generation moved."""
        runtime = self.runtime
        if runtime is None or self.stopping.is_set() or self.health.down:
            return
        try:
            changed = await runtime.refresh()
        except Exception as exc:
            self._failed(exc, "could not read the console's rules and sources", action="reload")
            return
        if changed:
            log.info(
                "console rules and sources reloaded: %d sources, %d rules",
                len(runtime.config.sources),
                len(runtime.config.rules),
                extra={"action": "reload"},
            )

    async def retention_tick(self) -> None:
        from monitor.ops.retention import prune
        from monitor.store.tables import now

        runtime = self.runtime
        if runtime is None or self.stopping.is_set():
            return
        retention = runtime.config.retention
        if retention.releases is None and retention.alerts is None:
            return
        if self.health.down or not await self.leadership.is_leader():
            return
        try:
            counts = await prune(runtime.engine, retention, now())
        except Exception as exc:
            self._failed(exc, "retention failed", action="retention")
            return
        if counts:
            log.info("pruned: %s", counts, extra={"action": "retention"})

    async def match_tick(self) -> None:
        """The sweep: match what is pending (a poll's own wake does the rest)."""
        runtime = self.runtime
        if runtime is None or self.stopping.is_set() or not await self.health.usable():
            return
        runtime.match_worker.wake()

    async def deliver_tick(self) -> None:
        """Deliver what is due on every channel: a wake (an alert queued, a console retry)."""
        await self._deliver_channels(sweep=False)

    async def deliver_sweep(self) -> None:
        """The scheduler's, every second: what came due by time (a retry, a digest) on the
        channels that had something to do lately; the idle ones every ``IDLE_SWEEP``."""
        await self._deliver_channels(sweep=True)

    async def _deliver_channels(self, *, sweep: bool) -> None:
        runtime = self.runtime
        if runtime is None or self.stopping.is_set() or not await self.health.usable():
            return
        moment = asyncio.get_running_loop().time()
        for channel_id in runtime.deliverer.channels:
            if not sweep:
                self._woken[channel_id] = moment
            elif self._idle_until.get(channel_id, 0.0) > moment:
                continue
            task = self.workers.get(channel_id)
            if task is None or task.done():
                self.workers[channel_id] = asyncio.create_task(
                    self._deliver(channel_id), name=f"deliver:{channel_id}"
                )

    async def _deliver(self, channel_id: str) -> object:
        runtime = self.runtime
        assert runtime is not None
        loop = asyncio.get_running_loop()
        started = loop.time()
        self._idle_until.pop(channel_id, None)
        try:
            counts = await runtime.deliverer.deliver_channel(channel_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._failed(exc, "delivery crashed", channel=channel_id, action="deliver")
            return None
        # nothing sent, failed or given up, and no wake since the run began: the channel is
        # idle, and its queries every second were a tenth of a 304 poll's CPU on PostgreSQL
        nothing = counts.sent == counts.failed == counts.dead == 0
        if nothing and self._woken.get(channel_id, -1.0) < started:
            self._idle_until[channel_id] = loop.time() + IDLE_SWEEP
        return counts

    def _failed(self, exc: Exception, message: str, **extra: str) -> None:
        """A tick's failure: the database's goes to the outage, anything else is a bug."""
        if not self.health.failed(exc):
            log.error(message, exc_info=exc, extra=extra)

    def _tell_alarm_channels(self) -> None:
        """Start sending the database alarm's notice when one is due (``ops.health``), on a
        task of its own: a hanging channel must not hold up the ticks."""
        if self.runtime is None or (self.notice is not None and not self.notice.done()):
            return
        view = self.health.notice_due()
        if view is not None:
            self.notice = asyncio.create_task(self._send_notice(view), name="notice:database")

    async def _send_notice(self, view: AlertView) -> None:
        runtime = self.runtime
        assert runtime is not None
        log.warning("%s", view.title, extra={"action": view.rule_id})
        delivered = True
        for channel_id in runtime.config.alarm_channels:
            channel = runtime.deliverer.channels.get(channel_id)
            if channel is None:
                continue
            try:
                await channel.send(view)
            except Exception as exc:  # DeliveryError, or a channel's bug: tried again later
                delivered = False
                log.warning(
                    "alarm not delivered: %s",
                    " ".join(str(exc).split())[:200],
                    extra={"channel": channel_id, "action": view.rule_id},
                )
        self.health.notice_tried(view, delivered)

    async def reload(self) -> None:
        from monitor.config_child import read_config_apart

        runtime = self.runtime
        if runtime is None:
            return
        try:
            loaded = await asyncio.to_thread(read_config_apart, self.config_path)
            config = loaded.config
            await runtime.reload(config)
        except ConfigError as exc:
            for problem in exc.problems:
                log.error("reload rejected: %s", problem, extra={"action": "reload"})
            return
        self.config = config
        log.info("configuration reloaded", extra={"action": "reload"})

    async def _settle_ticks(self) -> None:
        """Let the jobs in flight finish (one may still start polls); ``shutdown`` then
        waits for those in what is left of the grace period, and cancels what remains."""
        self._grace_ends = asyncio.get_running_loop().time() + GRACE_SECONDS
        if self.ticks:
            await asyncio.wait(list(self.ticks), timeout=GRACE_SECONDS)

    async def shutdown(self) -> None:
        tasks = [*self.ticks, *self.polls.values(), *self.workers.values()]
        if self.notice is not None:
            tasks.append(self.notice)
        await finish(tasks, self._grace_left())
        if self.runtime is not None:
            # what the polls saved meanwhile is matched in what is left of the grace; the
            # rest stays pending for the next start (the database is the queue)
            matching = self.runtime.match_worker
            matching.stop()
            if matching.task is not None:
                await finish([matching.task], self._grace_left())
            await self.runtime.close()

    def _grace_left(self) -> float:
        left = self._grace_ends - asyncio.get_running_loop().time()
        return min(max(left, 0.0), GRACE_SECONDS)
