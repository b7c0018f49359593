"""Keeping glibc's heap from holding on to memory Python has already freed.

A cold poll allocates and frees hundreds of megabytes in small pieces from several
threads (the event loop, aiosqlite's connection threads, the parse threads). glibc gives
each thread its own arena and, once a large block has been freed, raises its mmap
threshold, so big buffers come from the heap too: freed memory then stays in the process
(in one measurement 180 MB resident for a 100 MB peak of live data). Two arenas and a
fixed mmap threshold are the deployment's setting, read by glibc from the environment
(``MALLOC_ARENA_MAX=2``, ``MALLOC_MMAP_THRESHOLD_=262144``: the Dockerfile sets them, and
the README says so for other deployments); here only ``trim`` after each batch of work
(a body's parse, a match batch) gives the top of the heap back.

Only on glibc; elsewhere ``trim`` does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from functools import lru_cache
from typing import Any

log = logging.getLogger("monitor.memory")


@lru_cache(maxsize=1)
def _libc() -> Any:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt  # noqa: B018 (absent outside glibc: AttributeError)
        libc.malloc_trim  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def trim() -> None:
    """Give the free memory at the top of glibc's heaps back to the system."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
