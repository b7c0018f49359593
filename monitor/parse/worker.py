"""What runs in a parse worker process (``pool.ParsePool``'s ``ProcessPoolExecutor``).

``warm_up`` is the executor's initializer: it imports the parse stack and compiles the
rules once per worker, not on its first body. Only the parse stack is imported here (no
SQLAlchemy, pydantic or httpx), so a worker stays small. How glibc's malloc gives memory
back is the deployment's setting (``MALLOC_ARENA_MAX`` and friends in the Dockerfile and
docker-compose.yml), not this code's; but a worker whose peak a body took more than
``RETIRE_GROWTH`` above where it started says so with its answer, and the pool lets it go
(``pool.ParsePool``): under glibc's defaults it would keep much of that heap, idle,
through the rest of the poll.
"""

from __future__ import annotations

import gc
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.collector import tune
from monitor.parse.prepare import Prepared, Recipe, prepare


@dataclass(frozen=True, slots=True)
class RuleSet:
    """The rules in picklable form, and a fingerprint that changes whenever they do."""

    key: str
    specs: tuple[Any, ...]  # monitor.rules.matcher.RuleSpec
    concepts: tuple[tuple[str, tuple[str, ...]], ...]

    def compile(self) -> Any:
        from monitor.rules.matcher import compile_rules

        return compile_rules(self.specs, {name: list(v) for name, v in self.concepts})


# in a worker process: the matcher of the rules its executor was started with
_worker_matcher: tuple[str, Any] | None = None
# how far above its RSS at a body's start that body may take a worker's peak RSS before
# the worker is retired: the corpus's largest feeds (1.5-2.5 MB) took a fresh worker
# 28-103 MiB above its warm size (the model's load included), the 9.5 MB Arabic item of
# issue 22 ~95 (after which the worker kept 66-76 MB, idle). The model's load is left out:
# it is once per worker (80 MB more where the model's cache cannot be written), and
# counting it would retire every worker after its first body
RETIRE_GROWTH = 64 << 20
# in a worker process: the growth that retires it
_retire_growth: int | None = None


def warm_up(parent: int, rules: RuleSet | None = None, retire_growth: int = RETIRE_GROWTH) -> None:
    """Import the parse stack and compile the rules once per worker, not on its first body.
    ``parent`` is the pool's process id, given by the parent itself: a worker whose parent
    died while it was still starting (importing takes a second) would otherwise read the
    init process's id from ``getppid`` and watch the wrong parent forever."""
    _exit_with(parent)
    import feedparser  # noqa: F401

    import monitor.parse.identity
    import monitor.rules.normalize
    import monitor.stories  # noqa: F401

    # Ctrl-C reaches the whole process group: the parent decides when workers stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    global _worker_matcher, _retire_growth
    _worker_matcher = (rules.key, rules.compile()) if rules is not None else None
    _retire_growth = retire_growth
    # what start-up made lives as long as the worker: never walked again by a collection,
    # and collections less often (``monitor.collector``)
    gc.freeze()
    tune()


def _exit_with(parent: int) -> None:
    """End this worker when its parent is gone (SIGKILLed, out of memory): the executor's
    queues hold both ends of their pipes in the worker, so it would never read an EOF and
    would wait forever, holding the dead daemon's stderr open."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def prepare_and_match(
    body: bytes, headers: Mapping[str, str], url: str, recipe: Recipe, now: datetime
) -> Prepared:
    """``prepare``, plus the matches when this process holds a matcher (a pool worker)."""
    return prepare(body, headers, url, recipe, now, _worker_matcher)


def prepare_in_worker(
    body: bytes, headers: Mapping[str, str], url: str, recipe: Recipe, now: datetime
) -> tuple[Prepared, bool]:
    """``prepare_and_match``, and whether this worker should be retired after it: the body
    took its peak RSS more than its ``retire_growth`` above its RSS at the start, the
    language model's load left out (never in a process that is not a pool worker, nor
    where ``/proc`` cannot say)."""
    from monitor.parse import language

    if _retire_growth is None:
        return prepare_and_match(body, headers, url, recipe, now), False
    start = _reset_peak()
    if start is None:
        return prepare_and_match(body, headers, url, recipe, now), False
    growth = _Growth(start)
    language.load_watch = growth.watch_load
    try:
        prepared = prepare_and_match(body, headers, url, recipe, now)
    finally:
        language.load_watch = None
    return prepared, growth.total() > _retire_growth


class _Growth:
    """How far a body took this worker's peak RSS above ``start``, the model's load left
    out: its transient (the peak is reset after it) and its resident pages (subtracted)."""

    def __init__(self, start: int) -> None:
        self.start = start
        self.before_load = 0  # the growth before the model's load
        self.model = 0  # the RSS the model's load added

    def watch_load(self) -> Callable[[], None]:
        before = _status("VmRSS") or 0
        self.before_load = max(self.before_load, (_status("VmHWM") or 0) - self.start)

        def loaded() -> None:
            self.model += max(0, (_reset_peak() or 0) - before)

        return loaded

    def total(self) -> int:
        since = (_status("VmHWM") or 0) - self.start - self.model
        return max(self.before_load, since)


def _reset_peak() -> int | None:
    """This process's RSS now, its high-water mark reset to it (Linux 4.0 and later)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return None
    return _status("VmRSS")


def _status(field: str) -> int | None:
    """A size from ``/proc/self/status``, in bytes."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(field.encode() + b":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None
