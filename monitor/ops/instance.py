"""The single-instance guard: one ``monitor run`` per SQLite database.

SQLite is the single-instance default (SPEC): a second daemon on the same file would only
fight the first for its one writer. The guard is an exclusive ``flock`` on
``<database file>.lock``, held for the life of the process; the kernel drops it when the
process exits or crashes, so a stale lock file never blocks a restart. The file holds the
holder's pid, for the message. PostgreSQL needs no guard: instances share the work through
leases, so several may run.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from monitor.errors import MonitorError


class AlreadyRunning(MonitorError):
    """Another monitor holds the database's instance lock."""


@dataclass
class Lock:
    """A held instance lock; ``release()`` (or process exit) frees it."""

    path: Path
    fd: int

    def release(self) -> None:
        if self.fd < 0:
            return
        with contextlib.suppress(OSError):
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
        self.fd = -1


def lock_path(database_url: str) -> Path | None:
    """``<database file>.lock`` for a file-backed SQLite URL, else None."""
    if not database_url.startswith("sqlite"):
        return None
    database = make_url(database_url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser().resolve().with_name(Path(database).name + ".lock")


def acquire_instance_lock(database_url: str) -> Lock | None:
    """Take the lock for ``database_url``; None when no guard applies (PostgreSQL, memory).

    Raises ``AlreadyRunning`` when another process holds it.
    """
    path = lock_path(database_url)
    if path is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_APPEND-free, no truncation before the lock is ours: the holder's pid must survive
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read_pid(fd)
        os.close(fd)
        database = path.with_name(path.name.removesuffix(".lock"))
        pid = f" (pid {holder})" if holder else ""
        raise AlreadyRunning(f"another monitor is already running on {database}{pid}") from None
    except OSError:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return Lock(path, fd)


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
