"""A small real volume for "disk full" tests: a tmpfs mounted under the test's tmp_path.

A full disk is made real, not mocked: the test mounts a tmpfs of a few megabytes, puts
the SQLite database on it, and fills what is left with a ballast file until the kernel
says ENOSPC; ``free()`` deletes the ballast. SQLite then fails exactly as on a full
volume (SQLITE_FULL, "database or disk is full", when the WAL cannot grow).

Why not ``PRAGMA max_page_count``: it only stops the database *file* from growing, while
a write in WAL mode appends to the WAL, so rewriting an existing page still succeeds — a
"full disk" that takes some writes and refuses others, unlike a real one. Mounting needs
CAP_SYS_ADMIN (CI and the project's machines run tests as root); where it is refused the
tests that need a volume are skipped with the reason.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


class Volume:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.ballast = path / "ballast"

    def fill(self, leave: int = 0) -> None:
        """Take every free byte but ``leave`` (roughly: tmpfs allocates whole pages)."""
        # ENOSPC anywhere, even on creating the ballast (the database's write-ahead log
        # may have taken the volume already), means the volume is full: what was asked
        with contextlib.suppress(OSError), open(self.ballast, "ab") as out:
            chunk = b"\0" * 65536
            while True:
                out.write(chunk)
                out.flush()
        if leave and self.ballast.exists():
            size = self.ballast.stat().st_size
            os.truncate(self.ballast, max(size - leave, 0))

    def free(self) -> None:
        self.ballast.unlink(missing_ok=True)

    def available(self) -> int:
        stats = os.statvfs(self.path)
        return stats.f_bavail * stats.f_frsize


@contextlib.contextmanager
def mounted_volume(path: Path, size: str = "8m") -> Iterator[Volume]:
    """A tmpfs of ``size`` at ``path`` for the duration; skips the test if it cannot mount."""
    path.mkdir(parents=True, exist_ok=True)
    command = ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        pytest.skip("cannot mount a tmpfs for a small volume: no mount command")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs for a small volume (needs root): {done.stderr.strip()}")
    try:
        yield Volume(path)
    finally:
        # lazy: a process that still has a file open there must not fail the teardown
        subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)
