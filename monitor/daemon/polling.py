"""The daemon's polls: each tick claims due sources and starts a poll for each, within a
number of slots (polls in flight at once).

The slots are ``polling.max_concurrent`` or, with ``auto``, sized from the due rate of the
config and the time a poll takes, measured here as polls finish (``ops.claims.poll_slots``):
a fixed 32 capped an instance at about 160 polls a second once each fetch waits ~200 ms on
a real ministry. A full claim means more are due: the tick claims again each time half the
slots are free, until nothing due is left or the tick's second is over.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from typing import TYPE_CHECKING

from monitor.runtime import Runtime

if TYPE_CHECKING:
    from monitor.ops.claims import ClaimPlan
    from monitor.ops.health import DatabaseHealth
    from monitor.ops.metrics import Metrics
    from monitor.store.polls import PollState

log = logging.getLogger("monitor.daemon")

TICK_SECONDS = 1.0
# how fast the measured poll time follows a change: about the last 50 polls count
LATENCY_WEIGHT = 0.02


class Polling:
    """The poll tick and the polls it starts; mixed into ``Daemon``, whose runtime, health,
    metrics and stop event it uses."""

    runtime: Runtime | None
    stopping: asyncio.Event
    health: DatabaseHealth
    metrics: Metrics

    def __init__(self) -> None:
        self.polls: dict[str, asyncio.Task[object]] = {}
        self.tally: Counter[str] = Counter()  # poll results since the last summary line
        self.slots = 32  # polls in flight at most; set from the config at each tick
        self.latency = 0.0  # seconds a poll takes, a moving average of those finished
        self._room = asyncio.Event()  # set when a batch of poll slots is free
        self._plan: ClaimPlan | None = None

    def _failed(self, exc: Exception, message: str, **extra: str) -> None:
        raise NotImplementedError  # the daemon's: the database's failures are one outage

    def _tell_alarm_channels(self) -> None:
        raise NotImplementedError

    @property
    def _batch(self) -> int:
        return max(1, self.slots // 2)  # a tick claims again once this many slots are free

    async def poll_tick(self) -> None:
        """Claim due sources and start their polls, again each time half the slots are
        free, until nothing due is left or the tick's second is over."""
        from monitor.ops.claims import plan_for, poll_slots

        runtime = self.runtime
        if runtime is None or self.stopping.is_set():
            return
        self._tell_alarm_channels()
        if not await self.health.usable():
            return
        try:
            self._plan = await plan_for(runtime.engine, runtime.config, self._plan)
        except Exception as exc:
            self._failed(exc, "could not claim due sources", action="claim")
            return
        self.slots = poll_slots(runtime.config, self._plan.rate, self.latency)
        loop = asyncio.get_running_loop()
        # stop claiming before the next tick is due; a tick that still runs then (its last
        # claim waiting on the database) makes APScheduler skip the next, as intended
        ends = loop.time() + TICK_SECONDS * 0.8
        room = self.slots - len(self.polls)
        while room > 0 and not self.stopping.is_set():
            if await self._claim(runtime, self._plan, room) < room:
                return  # every due source is claimed (or the claim failed)
            if not await self._room_or(ends):
                return
            room = self.slots - len(self.polls)

    async def _room_or(self, ends: float) -> bool:
        """Wait until a batch of slots is free: False when ``ends`` (loop time) came first."""
        loop = asyncio.get_running_loop()
        while self.slots - len(self.polls) < self._batch:
            self._room.clear()
            left = ends - loop.time()
            if left <= 0 or self.stopping.is_set():
                return False
            try:
                await asyncio.wait_for(self._room.wait(), left)
            except TimeoutError:
                return False
        return loop.time() < ends

    async def _claim(self, runtime: Runtime, plan: ClaimPlan, room: int) -> int:
        """Claim up to ``room`` due sources and start their polls: how many were claimed."""
        from monitor.ops.claims import claim

        try:
            due, taken = await claim(runtime.engine, runtime.owner, plan, room)
        except Exception as exc:
            self._failed(exc, "could not claim due sources", action="claim")
            return 0
        for state in due:
            self.polls[state.id] = asyncio.create_task(self._poll(state), name=f"poll:{state.id}")
        return taken

    async def _poll(self, state: PollState) -> object:
        from monitor.pipeline import internal_error, poll, record_failed
        from monitor.store.polls import release_source

        runtime = self.runtime
        assert runtime is not None
        source_id = state.id
        try:
            started = time.monotonic()
            outcome = await poll(runtime.context(), runtime.config.source(source_id), state)
            took = time.monotonic() - started
            self.latency += (took - self.latency) * LATENCY_WEIGHT
            self.tally[self.metrics.record_poll(outcome, took)] += 1
            return outcome
        except asyncio.CancelledError:
            await asyncio.shield(release_source(runtime.engine, source_id, runtime.owner))
            raise
        except Exception as exc:
            # a bug must not take the daemon down, nor send the ministry the same request at
            # every tick: the source fails as any failed poll does, with backoff. Released
            # instead, it was due again at once (its due time had passed), forever
            self._failed(exc, "poll crashed", source=source_id, action="poll")
            try:
                await record_failed(
                    runtime.context(),
                    runtime.config.source(source_id),
                    state,
                    "internal",
                    internal_error(exc),
                    None,
                )
            except Exception as again:  # the database is gone: the lease will expire
                self._failed(again, "could not record the crash", source=source_id)
            return None
        finally:
            self.polls.pop(source_id, None)
            if self.slots - len(self.polls) >= self._batch:
                self._room.set()
