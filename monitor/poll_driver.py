"""``poll_once``: one poll of some sources, then matching, then delivery — the one driver
of a poll outside the daemon (``monitor poll``, the demo, the tests and the benchmarks).

The daemon's tick (``daemon.py``) claims the sources that are due and calls
``pipeline.poll`` for each; ``poll_once`` claims the sources it is given, due or not, polls
them (16 at a time), drains the match worker and delivers what is due. It reports what it
did in a ``PollRun`` and prints nothing but a progress line on a terminal: ``monitor poll``
(``cli/daemon.py``) writes the report.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from dataclasses import dataclass, field
from datetime import timedelta

from monitor.config.model import Config
from monitor.delivery import DeliveryCounts
from monitor.errors import UnknownSourceError
from monitor.ops.alarms import send_floods, unsent_floods
from monitor.pipeline import PollOutcome, poll
from monitor.runtime import Runtime
from monitor.schedule import poll_lease
from monitor.store.matching import StepResult
from monitor.store.polls import PollState, claim_due_sources, release_source
from monitor.store.tables import now


@dataclass(frozen=True, slots=True)
class PollRun:
    """What one ``poll`` did: each source's outcome, and the deliveries attempted after."""

    outcomes: list[PollOutcome]
    delivery: DeliveryCounts
    floods_unsent: int = 0  # flood notices a channel refused: they wait for their retry
    matched: StepResult = field(default_factory=StepResult)  # what draining the matcher did


async def poll_once(
    config: Config | Runtime,
    source_ids: list[str],
    no_alerts: bool = False,
    widen: timedelta | None = None,
    *,
    no_flood_guard: bool = False,
    deliver: bool = True,
) -> PollRun:
    """One poll of ``source_ids`` (claimed whether due or not), then matching everything
    pending, then (``deliver``) what is due now. The one driver of a poll outside the
    daemon: ``monitor poll``, the demo (``deliver=False``, to show the alerts that would
    be sent), the tests and the benchmarks. Given a config, it starts and closes its own
    runtime; given a runtime (a test's, polling again after a reload), it uses that.
    An id that names no source raises ``UnknownSourceError`` before anything is polled."""
    if isinstance(config, Runtime):
        return await _poll_once(config, source_ids, no_alerts, widen, no_flood_guard, deliver)
    runtime = await Runtime.start(config)
    try:
        return await _poll_once(runtime, source_ids, no_alerts, widen, no_flood_guard, deliver)
    finally:
        await runtime.close()


async def _poll_once(
    runtime: Runtime,
    source_ids: list[str],
    no_alerts: bool,
    widen: timedelta | None,
    no_flood_guard: bool,
    deliver: bool,
) -> PollRun:
    config = runtime.config  # the file's sources and rules and the console's
    known = {s.id for s in config.sources}
    for source_id in source_ids:
        if source_id not in known:
            raise UnknownSourceError(
                f"unknown source {source_id!r} (known: {', '.join(sorted(known)) or 'none'})"
            )
    source_ids = list(source_ids) or sorted(known)
    ctx = runtime.context(no_alerts=no_alerts, backfill=widen, no_flood_guard=no_flood_guard)
    claimed = await claim_due_sources(
        runtime.engine,
        runtime.owner,
        lease=poll_lease(config),
        limit=len(source_ids),
        only=source_ids,
        force=True,
    )
    busy = [s for s in source_ids if s not in {state.id for state in claimed}]
    gate = asyncio.Semaphore(16)
    done = 0
    progress = sys.stderr.isatty()

    async def one(state: PollState) -> PollOutcome:
        nonlocal done
        async with gate:
            try:
                outcome = await poll(ctx, config.source(state.id), state)
            except Exception as exc:  # a bug must not stop the other sources
                logging.getLogger("monitor.poll").exception(
                    "poll crashed", extra={"source": state.id, "action": "poll"}
                )
                await release_source(runtime.engine, state.id, runtime.owner)
                outcome = PollOutcome(state.id, ok=False, error=f"internal error: {exc!r}")
        done += 1
        if progress:
            sys.stderr.write(f"\rpolled {done}/{len(claimed)}")
            sys.stderr.flush()
        return outcome

    outcomes = list(await asyncio.gather(*(one(state) for state in claimed)))
    if progress and claimed:
        sys.stderr.write("\n")
    for source_id in busy:
        outcomes.append(
            PollOutcome(source_id, ok=True, warning="skipped: being polled by another instance")
        )
    outcomes.sort(key=lambda o: o.source_id)
    # what these polls saved, and what a crashed run left unmatched
    matched = await runtime.match_worker.drain()
    if not deliver:
        return PollRun(outcomes, DeliveryCounts(), matched=matched)
    try:  # flood notices a channel refused before (or a crashed run left) go out now
        await send_floods(runtime.engine, config, runtime.deliverer.channels, now())
    except Exception:  # they stay due for the next poll
        logging.getLogger("monitor.poll").exception("flood notices not sent")
    counts = await runtime.deliverer.deliver_all()
    unsent = await unsent_floods(runtime.engine)
    return PollRun(outcomes, counts, unsent, matched)
