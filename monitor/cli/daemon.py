"""``monitor poll`` and ``monitor run``: the same pipeline, once (``poll_driver.poll_once``)
or on a schedule (``daemon.Daemon``)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any

import typer

from monitor.cli.common import EXIT_FAILURE, EXIT_USAGE, State, fail, run_async
from monitor.config.model import Config
from monitor.errors import UnknownSourceError
from monitor.logs import setup_logging
from monitor.redact import redact_text

if TYPE_CHECKING:
    from asyncio import AbstractEventLoop

EVENT_LOOP_VARIABLE = "MONITOR_EVENT_LOOP"


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
    from monitor.poll_driver import poll_once

    try:
        done = run_async(
            poll_once(
                config,
                list(sources),
                no_alerts,
                widen,
                no_flood_guard=no_flood_guard,
            ),
            event_loop_factory(),
        )
    except UnknownSourceError as exc:
        fail(str(exc), EXIT_USAGE)
    counts = done.delivery
    if counts.sent or counts.failed or counts.dead:
        typer.echo(
            f"alerts: {counts.sent} sent, {counts.failed} failed (retry scheduled), "
            f"{counts.dead} dead",
            err=True,
        )
    if done.floods_unsent:
        typer.echo(
            f"flood notices: {done.floods_unsent} not sent (retry scheduled; `monitor run` or "
            "the next poll sends them)",
            err=True,
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


def run_command(config: Config) -> None:
    from monitor.daemon import Daemon
    from monitor.errors import MonitorError

    setup_logging(State.log_format, State.verbose)
    loop_factory = event_loop_factory()
    try:
        run_async(_said_on_start(Daemon(config, State.config_path).run()), loop_factory)
    except (MonitorError, OSError) as exc:
        # another instance on this SQLite file, or the HTTP endpoint's address is taken
        fail(str(exc))


async def _said_on_start(daemon: Coroutine[Any, Any, None]) -> None:
    """One line naming the event loop the daemon runs on (``uvloop`` or ``asyncio``): what
    a report of a problem should say, and what tells the fallback took effect."""
    import asyncio

    loop = asyncio.get_running_loop()
    name = type(loop).__module__.split(".")[0]
    logging.getLogger("monitor.daemon").info("event loop: %s", name, extra={"action": "start"})
    await daemon


def event_loop_factory() -> Callable[[], AbstractEventLoop] | None:
    """The event loop ``run`` and ``poll`` work on: uvloop's (libuv) where it is installed,
    else asyncio's own (None). At 33 polls a second the loop's own work — epoll, ten or so
    wake-ups a poll, the transports under every request and every aiosqlite trip — was a
    fifth of the daemon's CPU on asyncio's pure-Python loop (bench/README.md, "The event
    loop"). ``MONITOR_EVENT_LOOP=asyncio`` chooses asyncio's loop all the same (to rule the
    loop out when chasing a problem); ``uvloop`` insists on uvloop."""
    choice = os.environ.get(EVENT_LOOP_VARIABLE, "").strip().lower() or "auto"
    if choice not in ("auto", "uvloop", "asyncio"):
        fail(f"{EVENT_LOOP_VARIABLE}={choice!r}: expected uvloop or asyncio", EXIT_USAGE)
    if choice == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        # a platform uvloop has no wheel for (Windows, PyPy): asyncio's loop does the same work
        if choice == "uvloop":
            fail(f"{EVENT_LOOP_VARIABLE}=uvloop: uvloop is not installed", EXIT_USAGE)
        return None
    return uvloop.new_event_loop
