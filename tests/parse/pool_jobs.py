"""Jobs for the parse pool's tests: module level, stdlib only, so a worker can import them."""

from __future__ import annotations

import os
import sys


class Unrebuildable(Exception):
    """Pickles, but cannot be rebuilt: ``__init__`` wants an argument pickle does not pass."""

    def __init__(self, code: int, detail: str) -> None:
        super().__init__(f"{code}: {detail}")


def raise_unrebuildable() -> None:
    raise Unrebuildable(7, "seven")


def die() -> None:
    os._exit(3)


def chatter() -> str:
    print("something a library prints", flush=True)
    sys.stdout.buffer.write(b"\x80garbage that is not a pickle\n")
    sys.stdout.flush()
    return "answered"


def loaded_modules() -> list[str]:
    # a None entry is an import blocked, not a module loaded (monitor/__init__ blocks
    # httpx._main, httpx's command-line client)
    return sorted(name for name, module in sys.modules.items() if module is not None)


def worker_pid() -> int:
    return os.getpid()


def collector() -> tuple[tuple[int, int, int], int]:
    """The worker's collector thresholds, and how many objects start-up froze."""
    import gc

    return gc.get_threshold(), gc.get_freeze_count()
