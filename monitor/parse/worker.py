"""What runs in a parse worker process (``pool.ParsePool``'s ``ProcessPoolExecutor``).

``warm_up`` is the executor's initializer: it imports the parse stack and compiles the
rules once per worker, not on its first body. Only the parse stack is imported here (no
SQLAlchemy, pydantic or httpx), so a worker stays small. How glibc's malloc gives memory
back is the deployment's setting (``MALLOC_ARENA_MAX`` and friends in the Dockerfile and
docker-compose.yml), not this code's; but a worker whose peak a body took more than
``RETIRE_GROWTH`` above its size once warmed up says so with its answer, and the pool lets
it go (``pool.ParsePool``): under glibc's defaults it would keep much of that heap, idle,
through the rest of the poll.
"""

from __future__ import annotations

import os
import resource
import signal
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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
# how far above its size once warmed up a body may take a worker's peak RSS before the
# worker is retired: a feed of 60 KB takes it 18-19 MiB up (the language model's pages,
# mapped on first use; 57 MiB in the one worker that writes the model's cache), the
# corpus's largest (1.5-2.5 MB) 28-103 MiB, the 9.5 MB Arabic item of issue 22 ~115 MiB
# (after which the worker kept 66-76 MB, idle)
RETIRE_GROWTH = 64 << 20
# in a worker process: (its RSS once warmed up, the growth of its peak that retires it)
_worker_size: tuple[int, int] | None = None


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
    global _worker_matcher, _worker_size
    _worker_matcher = (rules.key, rules.compile()) if rules is not None else None
    size = _rss()
    _worker_size = (size, retire_growth) if size is not None else None


def _rss() -> int | None:
    """This process's resident size in bytes (None where ``/proc`` is not there)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


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
    """``prepare_and_match``, and whether this worker should be retired after it: its peak
    RSS went more than its ``retire_growth`` above its warm size (never in a process that
    is not a pool worker)."""
    prepared = prepare_and_match(body, headers, url, recipe, now)
    return prepared, grew_too_much()


def grew_too_much() -> bool:
    if _worker_size is None:
        return False
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    return peak - _worker_size[0] > _worker_size[1]
