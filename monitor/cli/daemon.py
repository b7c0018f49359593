"""``monitor poll`` and ``monitor run``: the same pipeline, once or on a schedule."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

import typer

from monitor.cli.common import EXIT_FAILURE, EXIT_USAGE, State, fail, run_async
from monitor.config.model import Config
from monitor.delivery import DeliveryCounts
from monitor.logs import setup_logging
from monitor.pipeline import PollOutcome
from monitor.redact import redact_text
from monitor.store.matching import StepResult

if TYPE_CHECKING:
    from monitor.runtime import Runtime


@dataclass(frozen=True, slots=True)
class PollRun:
    """What one ``poll`` did: each source's outcome, and the deliveries attempted after."""

    outcomes: list[PollOutcome]
    delivery: DeliveryCounts
    floods_unsent: int = 0  # flood notices a channel refused: they wait for their retry
    matched: StepResult = field(default_factory=StepResult)  # what draining the matcher did


def poll_command(
    config: Config,
    *,
    sources: Sequence[str],
    no_alerts: bool,
    backfill: str | None,
    no_flood_guard: bool = False,
) -> None:
    from monitor.config.durations import parse_duration

    try:
        widen = parse_duration(backfill) if backfill else None
    except ValueError as exc:
        fail(f"--backfill: {exc}", EXIT_USAGE)
    setup_logging(State.log_format, State.verbose)
    if State.log_format == "text":
        for handler in logging.getLogger("monitor").handlers:
            handler.addFilter(_said_in_the_report)
    done = run_async(
        poll_once(
            config,
            list(sources),
            no_alerts,
            widen,
            no_flood_guard=no_flood_guard,
        )
    )
    failed = [o for o in done.outcomes if not o.ok]
    for outcome in done.outcomes:
        if outcome.ok:
            status = (
                "unchanged"
                if outcome.not_modified
                else f"{outcome.entries} entries, {outcome.new} new, {outcome.revised} revised"
            )
            if outcome.skipped:
                status += f", {outcome.skipped} skipped: {outcome.skip_reason}"
            if outcome.held:
                status += f", {outcome.held} not alerted one by one (flood guard: one notice)"
            warning = f" (warning: {outcome.warning})" if outcome.warning else ""
            typer.echo(redact_text(f"{outcome.source_id}: ok, {status}{warning}"), err=True)
        else:
            typer.echo(redact_text(f"{outcome.source_id}: failed: {outcome.error}"), err=True)
    # SPEC section 1: a failed delivery attempt is a runtime failure too (the alert stays
    # queued for its retry), so a cron job or a script notices a dead receiver
    if failed or done.delivery.failed or done.delivery.dead or done.floods_unsent:
        raise typer.Exit(EXIT_FAILURE)


def _said_in_the_report(record: logging.LogRecord) -> bool:
    """``poll`` ends with one line per source; on a terminal the pipeline's own warning for
    a failed source would say the same thing a second time (``run`` keeps it: its log is
    the only report). A record the filter returns False for is dropped."""
    failed_poll = (
        record.name == "monitor.pipeline"
        and getattr(record, "action", None) == "poll"
        and hasattr(record, "kind")
    )
    return not failed_poll


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
    runtime; given a runtime (a test's, polling again after a reload), it uses that."""
    from monitor.runtime import Runtime

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
    from monitor.ops.alarms import send_floods, unsent_floods
    from monitor.pipeline import poll
    from monitor.schedule import poll_lease
    from monitor.store.polls import PollState, claim_due_sources, release_source
    from monitor.store.tables import now

    config = runtime.config  # the file's sources and rules and the console's
    known = {s.id for s in config.sources}
    for source_id in source_ids:
        if source_id not in known:
            fail(
                f"unknown source {source_id!r} (known: {', '.join(sorted(known)) or 'none'})",
                EXIT_USAGE,
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
    if counts.sent or counts.failed or counts.dead:
        typer.echo(
            f"alerts: {counts.sent} sent, {counts.failed} failed (retry scheduled), "
            f"{counts.dead} dead",
            err=True,
        )
    unsent = await unsent_floods(runtime.engine)
    if unsent:
        typer.echo(
            f"flood notices: {unsent} not sent (retry scheduled; `monitor run` or the "
            "next poll sends them)",
            err=True,
        )
    return PollRun(outcomes, counts, unsent, matched)


def run_command(config: Config) -> None:
    from monitor.daemon import Daemon
    from monitor.errors import MonitorError

    setup_logging(State.log_format, State.verbose)
    try:
        run_async(Daemon(config, State.config_path).run())
    except (MonitorError, OSError) as exc:
        # another instance on this SQLite file, or the HTTP endpoint's address is taken
        fail(str(exc))
