"""What runs in a parse worker process (``pool.ParsePool``'s ``ProcessPoolExecutor``).

``warm_up`` is the executor's initializer: it imports the parse stack and compiles the
rules once per worker, not on its first body. Only the parse stack is imported here (no
SQLAlchemy, pydantic or httpx), so a worker stays small. How glibc's malloc gives memory
back is the deployment's setting (``MALLOC_ARENA_MAX`` and friends in the Dockerfile and
docker-compose.yml), not this code's.
"""

from __future__ import annotations

import os
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


def warm_up(parent: int, rules: RuleSet | None = None) -> None:
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
    global _worker_matcher
    _worker_matcher = (rules.key, rules.compile()) if rules is not None else None


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
