"""What every command shares: loading the config, exit codes, JSON lines, durations."""

from __future__ import annotations

import gc
import json
import os
import sys
from collections.abc import Callable, Coroutine, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer

from monitor.errors import ConfigError, StoreError

if TYPE_CHECKING:
    from asyncio import AbstractEventLoop

    from monitor.config.model import Config

T = TypeVar("T")

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class State:
    """Options given before the command; set by the app callback."""

    config_path: Path = Path("config/monitor.yaml")
    log_format: str = "text"
    verbose: bool = False


def actor() -> str:
    """Who a command's change is recorded as in the audit log: ``cli:`` and the OS user."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def config_path(explicit: Path | None) -> Path:
    if explicit is not None:
        return explicit
    return Path(os.environ.get("MONITOR_CONFIG") or "config/monitor.yaml")


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    typer.echo(f"monitor: {message}", err=True)
    raise typer.Exit(code)


def load(*, warn: bool = False, apart: bool = False) -> Config:
    """Load the config or exit 2 with one line per problem (every command refuses the same);
    ``warn``: print the warnings of a valid config too (``check``, ``run``); ``apart``: a
    large file is read in a child process, so that its parse is not in this one's memory
    (``monitor.config_child``: the daemon's)."""
    from monitor.config.load import read_config
    from monitor.part_checks import check_parts

    try:
        if apart:
            from monitor.config_child import read_config_apart

            loaded = read_config_apart(State.config_path)
        else:
            loaded = read_config(State.config_path, parts=check_parts)
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(problem, err=True)
        raise typer.Exit(EXIT_USAGE) from None
    if warn:
        for warning in loaded.warnings:
            typer.echo(warning, err=True)
    end_start_up()
    return loaded.config


def end_start_up() -> None:
    """Freeze what start-up made and turn the garbage collector back on (``main`` turned it
    off). Frozen objects are never walked by a collection again; the work that follows is
    collected less often than CPython's default (``monitor.collector``). Does nothing where
    the collector is on (a test calling a command).
    """
    if not gc.isenabled():
        from monitor.collector import tune

        gc.freeze()
        tune()
        gc.enable()


def run_async(
    coroutine: Coroutine[Any, Any, T],
    loop_factory: Callable[[], AbstractEventLoop] | None = None,
) -> T:
    import asyncio

    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:  # None: asyncio.run's loop
            return runner.run(coroutine)
    except StoreError as exc:
        fail(str(exc))


def since(text: str) -> datetime:
    from monitor.config.durations import parse_duration

    try:
        delta: timedelta = parse_duration(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    return datetime.now(UTC) - delta


def emit_json(objects: Iterable[dict[str, Any]]) -> None:
    out = sys.stdout
    # one encoder for every line: ``json.dumps`` with options makes one a call, a third of
    # writing 10,000 lines (``sources --json``); the text is the same
    encode = json.JSONEncoder(ensure_ascii=False, default=_json_default).encode
    for obj in objects:
        out.write(encode(obj) + "\n")
    out.flush()


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def table(rows: list[list[str]], headers: list[str]) -> None:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in (headers, *rows)
    ]
    typer.echo("\n".join(lines))  # one write: echo per row was a third of a 10,000-row table
