"""The match worker: stories, matches and alerts for what polls saved — a worker like
delivery's.

The database is the queue: a release is pending until its current version is matched
(``store.matching``), so nothing here needs to survive a crash. A poll that saves releases
wakes the worker (``wake``); the daemon's tick sweeps what a crash or a failed run left;
``monitor poll`` drains it (``drain``) before it delivers. One run at a time in a process,
and the step itself is serialised across instances, so two copies arriving together still
meet in one story.

The hits a parse worker found travel with each saved release (``Found``, given by the poll
through ``add``): a run uses them when the release's stored version is the one the worker
saw and the rules are still the ones it applied (a reload changes their fingerprint);
otherwise the release is matched here with the current rules.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.model import Document, DumpedMatch, RuleMatch
from monitor.store.matching import StepResult, match_pending, sum_steps

log = logging.getLogger("monitor.match")


@dataclass(frozen=True, slots=True)
class Found:
    """What a parse worker matched in one version of a release, under which rules."""

    content_hash: str
    rules_key: str
    hits: tuple[RuleMatch | DumpedMatch, ...]


class MatchWorker:
    """One per runtime. ``match``, ``channels_of`` and ``rules_key`` are read at each run,
    so a reload's rules apply from the next run on, whole."""

    def __init__(
        self,
        engine: AsyncEngine,
        match: Callable[[Document], Sequence[RuleMatch]],
        channels_of: Callable[[str], Sequence[str]],
        rules_key: Callable[[], str | None],
    ) -> None:
        self._engine = engine
        self._match = match
        self._channels_of = channels_of
        self._rules_key = rules_key
        self._found: dict[int, Found] = {}  # by release id, until a run takes them
        self._task: asyncio.Task[StepResult] | None = None
        self._again = False
        self._stopped = False
        self._done = StepResult()  # what the runs did since the last drain
        # the daemon's: wake delivery when a run queued alerts; report a failed run
        self.matched: Callable[[], Awaitable[None]] | None = None
        self.failed: Callable[[Exception], None] = lambda exc: log.error(
            "matching failed", exc_info=exc, extra={"action": "match"}
        )

    @property
    def task(self) -> asyncio.Task[StepResult] | None:
        return self._task

    def add(self, found: Mapping[int, Found]) -> None:
        """The worker's hits of releases just saved (by release id)."""
        self._found.update(found)

    def wake(self) -> None:
        """Match what is pending now; a run in progress runs once more when it ends."""
        if self._stopped:
            return
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.create_task(self._run(), name="match")

    def stop(self) -> None:
        """No more runs (shutting down): what is pending waits for the next start."""
        self._stopped = True

    async def drain(self) -> StepResult:
        """Wait until every release pending now is matched (``monitor poll``, start-up);
        a failure is raised to the caller. What was matched since the last drain."""
        if self._task is not None and not self._task.done():
            await asyncio.wait([self._task])
        step = await self._step()
        done, self._done = sum_steps((self._done, step)), StepResult()
        return done

    async def _run(self) -> StepResult:
        total = StepResult()
        while True:
            self._again = False
            try:
                step = await self._step()
            except Exception as exc:  # the releases stay pending: the next wake or sweep
                self.failed(exc)
                return total
            total = sum_steps((total, step))
            self._done = sum_steps((self._done, step))
            if step.alerts and self.matched is not None:
                await self.matched()
            if not self._again:
                return total

    async def _step(self) -> StepResult:
        # a run takes the hits known so far; those of releases saved meanwhile wait for
        # the run their poll's wake asks for, and none outlives the run that could use it
        found, self._found = self._found, {}
        key = self._rules_key()

        def known(release_id: int, content_hash: str) -> Sequence[RuleMatch | DumpedMatch] | None:
            hit = found.get(release_id)
            if hit is None or hit.content_hash != content_hash or hit.rules_key != key:
                return None
            return hit.hits

        return await match_pending(
            self._engine, self._match, self._channels_of, found=known if found else None
        )
