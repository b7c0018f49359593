"""Three `monitor run` instances sharing one PostgreSQL, one of them SIGKILLed mid-run.

From the loopback server's request log and the webhook receiver: every source is polled
once per due time (never twice by two instances), every alert id arrives, and the only
duplicates are resends of an alert that was in flight in the killed instance. Who sent
each webhook is read from the kernel while its request is handled (which process holds
the client's port), not from timestamps: a request the killed instance sent just before
the kill may be handled after it.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.support.feeds import Item, rss
from tests.support.http_server import LoopbackServer, Request, Response
from tests.support.waiting import wait_until

SOURCES = 150
INTERVAL = 4.0


def _warnings(logs: list[Path], source: str) -> list[str]:
    """The instances' warnings and errors about ``source``, and those about no source."""
    lines = []
    for n, path in enumerate(logs):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            about = f'"source": "{source}"' in line or '"source"' not in line
            if line.startswith("{") and '"level": "info"' not in line and about:
                lines.append(f"instance {n}: {line[:400]}")
    return lines


class Log:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.polls: dict[str, list[float]] = defaultdict(list)
        self.hooks: list[tuple[float, str, bool]] = []  # (at, webhook id, from a survivor)
        self.survivors: list[int] = []  # pids of the instances that are not killed


def _local_ports(pid: int) -> set[int]:
    """The local TCP ports of the sockets process ``pid`` holds open."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("tcp", "tcp6"):
        with open(f"/proc/{pid}/net/{table}") as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                if fields[9] in inodes:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def _feed(log: Log, name: str, body: bytes):  # type: ignore[no-untyped-def]
    def handler(request: Request) -> Response:
        with log.lock:
            log.polls[name].append(time.monotonic())
        return Response(body=body)

    return handler


def _hook(log: Log):  # type: ignore[no-untyped-def]
    def handler(request: Request) -> Response:
        # the client waits for this response, so its connection is open: a survivor's port
        # shows in its /proc now; the killed instance's no longer does
        survivor = any(request.peer[1] in _local_ports(pid) for pid in log.survivors)
        with log.lock:
            log.hooks.append((time.monotonic(), request.headers["webhook-id"], survivor))
        return Response(204)

    return handler


@pytest.mark.slow
def test_three_instances_one_killed(
    tmp_path: Path, pg_url: str, http_server: LoopbackServer
) -> None:
    log = Log()
    now = datetime.now(UTC)
    names = [f"s{i:03d}" for i in range(SOURCES)]
    for i, name in enumerate(names):
        item = Item(
            f"{name}-1",
            f"Statement {i} on NATO",
            f"Unique body {i} about the NATO summit.",
            f"https://x.example/{name}",
            now,
        )
        http_server.route(f"/{name}", _feed(log, name, rss([item], language="en")))
    http_server.route("/hook", _hook(log))
    sources = "\n".join(f"  - id: {n}\n    url: {http_server.url('/' + n)}" for n in names)
    config = tmp_path / "monitor.yaml"
    config.write_text(
        f"database: {pg_url}\ndefaults: {{interval: {int(INTERVAL)}s, timeout: 5s, max_connections_per_host: 16}}\n"
        f"sources:\n{sources}\nrules:\n  - id: nato\n    query: NATO\n    channels: [hook]\n"
        f"channels:\n  - id: hook\n    type: webhook\n    url: {http_server.url('/hook')}\n    timeout: 2s\n",
        encoding="utf-8",
    )
    subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), "db", "upgrade"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=60,
    )
    env = {k: v for k, v in os.environ.items() if k != "MONITOR_DATABASE_URL"}
    # each instance's log in a file: what a failure below is explained by
    logs = [tmp_path / f"instance-{n}.log" for n in range(3)]
    command = [sys.executable, "-m", "monitor", "--config", str(config), "--log-format", "json"]
    instances = []
    for path in logs:
        with path.open("w") as stderr:  # the child keeps its own copy of the descriptor
            instances.append(
                subprocess.Popen(
                    [*command, "run"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr
                )
            )
    log.survivors = [p.pid for p in instances[1:]]
    try:
        wait_until(lambda: len(log.hooks) >= SOURCES // 3, timeout=60)
        instances[0].send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        instances[0].wait(timeout=10)
        # the survivors take over: every alert arrives, and every source keeps being polled
        wait_until(lambda: len({h for _, h, _ in log.hooks}) >= SOURCES, timeout=120)
        mark = time.monotonic()
        wait_until(lambda: all(any(t > mark for t in log.polls[n]) for n in names), timeout=90)
    finally:
        for process in instances[1:]:
            process.send_signal(signal.SIGTERM)
        for process in instances:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
    assert instances[1].returncode == 0 and instances[2].returncode == 0

    # never two polls of one source for one due time
    for name in names:
        times = sorted(log.polls[name])
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert all(gap >= INTERVAL * 0.95 for gap in gaps), (name, gaps, _warnings(logs, name))

    # every alert once, except a resend of what was in flight when the instance died
    seen: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    for at, hook_id, survivor in log.hooks:
        seen[hook_id].append((at, survivor))
    assert len(seen) == SOURCES
    for hook_id, sends in seen.items():
        if len(sends) > 1:
            # sent by the killed instance, then resent by a survivor once its lease expired
            assert len(sends) == 2, (hook_id, sends)
            (_, first_by_survivor), (resent_at, resent_by_survivor) = sends
            assert not first_by_survivor and resent_by_survivor, (hook_id, sends)
            assert resent_at > killed_at, (hook_id, sends)
    print(json.dumps({"alerts": len(seen), "duplicates": sum(len(t) - 1 for t in seen.values())}))
