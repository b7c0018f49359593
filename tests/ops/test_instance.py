"""The single-instance guard: a second holder of a SQLite database's lock is refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from monitor.ops.instance import AlreadyRunning, acquire_instance_lock, lock_path
from tests.conftest import ROOT

HOLDER = """
import sys
from monitor.ops.instance import acquire_instance_lock
lock = acquire_instance_lock(sys.argv[1])
print("locked", flush=True)
sys.stdin.read()  # hold until the test closes our stdin
"""


@pytest.mark.parametrize(
    ("url", "guarded"),
    [
        ("sqlite:///{tmp}/monitor.db", True),
        ("sqlite:///:memory:", False),
        ("sqlite://", False),
        ("postgresql+psycopg://user@localhost/monitor", False),
        ("postgresql://localhost/monitor", False),
    ],
)
def test_which_databases_are_guarded(tmp_path: Path, url: str, guarded: bool) -> None:
    path = lock_path(url.format(tmp=tmp_path))
    assert (path is not None) is guarded
    if path is not None:
        assert path == tmp_path / "monitor.db.lock"


def test_second_process_is_refused_until_the_first_exits(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data' / 'monitor.db'}"
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, url],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdin is not None and holder.stdout is not None
        try:
            assert holder.stdout.readline().strip() == "locked"
            with pytest.raises(AlreadyRunning) as refused:
                acquire_instance_lock(url)
            assert str(refused.value) == (
                f"another monitor is already running on {tmp_path / 'data' / 'monitor.db'} "
                f"(pid {holder.pid})"
            )
        finally:
            holder.stdin.close()
            holder.wait(timeout=10)
    # the kernel dropped the lock with the process; the stale file does not block
    lock = acquire_instance_lock(url)
    assert lock is not None
    try:
        assert (tmp_path / "data" / "monitor.db.lock").read_text().strip().isdigit()
    finally:
        lock.release()


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'monitor.db'}"
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, url], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE
    ) as holder:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == b"locked"
        holder.kill()
        holder.wait(timeout=10)
    lock = acquire_instance_lock(url)
    assert lock is not None
    lock.release()


def test_release_lets_the_same_process_take_it_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'monitor.db'}"
    first = acquire_instance_lock(url)
    assert first is not None
    with pytest.raises(AlreadyRunning):
        acquire_instance_lock(url)  # flock is per open file: a second open is refused too
    first.release()
    again = acquire_instance_lock(url)
    assert again is not None
    again.release()
