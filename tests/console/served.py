"""A real `monitor run` serving the console, for the browser and server tests: its config,
users made with the `users` command, a token made with `tokens create`, and a stop that
measures how long SIGTERM took."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.conftest import ROOT
from tests.console.conftest import PASSWORD
from tests.support.waiting import wait_until


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "MONITOR_DATABASE_URL"}


def monitor(config: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), *args],
        cwd=ROOT,
        env=_env(),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def add_user(config: Path, name: str, role: str) -> None:
    done = monitor(config, "users", "add", name, "--role", role, stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr


def get(url: str, token: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


class Served:
    """``monitor run`` with a console on ``port``; ``stop()`` returns (exit code, seconds)."""

    def __init__(self, config: Path, port: int) -> None:
        self.config = config
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(config), "run"],
            cwd=ROOT,
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            # an upper bound, not a sleep: a start-up on a loaded machine (two test workers)
            # can take tens of seconds
            wait_until(self._up, timeout=60, what=f"the console at {self.url}")
        except BaseException:
            self.stop()  # never left running (and polling) after the test that started it
            raise

    def _up(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"monitor run exited: {self.process.stderr.read()}")  # type: ignore[union-attr]
        try:
            return get(self.url + "/login")[0] in (200, 303)
        except OSError:
            return False

    def stop(self) -> tuple[int, float, str]:
        started = time.monotonic()
        try:
            self.process.send_signal(signal.SIGTERM)
            code = self.process.wait(timeout=15)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            _, stderr = self.process.communicate(timeout=10)
        return code, time.monotonic() - started, stderr
