"""``monitor run`` as a subprocess for end-to-end drills: its stderr read as it comes.

Every line is kept with the moment it arrived (so a test can count the lines of a time
window) and, with ``--log-format json``, parsed. ``close()`` always reaps the process and
its pipe, whatever the test did to it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import ROOT
from tests.support.waiting import wait_until


class MonitorRun:
    def __init__(self, config: Path, *, log_format: str = "json", verbose: bool = False) -> None:
        env = {k: v for k, v in os.environ.items() if k != "MONITOR_DATABASE_URL"}
        command = [sys.executable, "-m", "monitor", "--config", str(config)]
        command += ["--log-format", log_format, *(["-v"] if verbose else []), "run"]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[tuple[float, str]] = []  # (monotonic time, line)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    def logs(self) -> list[dict[str, Any]]:
        """The JSON log lines so far."""
        return [json.loads(line) for _, line in list(self.lines) if line.startswith("{")]

    def lines_between(self, start: float, end: float) -> list[str]:
        return [line for at, line in list(self.lines) if start <= at <= end]

    def wait_log(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 30) -> Any:
        return wait_until(
            lambda: next((line for line in self.logs() if predicate(line)), None),
            timeout,
            "a log line",
        )

    def text(self) -> str:
        return "\n".join(line for _, line in list(self.lines))

    def kill(self) -> None:
        """SIGKILL, and wait until the process is gone."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self, timeout: float = 15) -> int:
        """SIGTERM; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)
        self._reader.join(timeout=10)
        if self.process.stderr is not None:
            self.process.stderr.close()
