"""Crash safety: ``monitor run`` is SIGKILLed during delivery, then started again.

The webhook receiver itself kills the daemon, from inside its request handler, so each
crash lands at an exact point rather than after a guessed sleep:

- ``before``: the request reached the receiver, which kills the daemon before accepting
  it — the send was in flight, nothing was received or recorded;
- ``after``: the receiver accepts the request, then kills the daemon before answering —
  sent, but never recorded as sent;
- ``batch``: the third of five alerts (claimed together) is accepted and the daemon
  killed: up to four are sent at once, so besides the third, others may have been
  accepted and not yet recorded (in flight too), and the rest were claimed but never sent;
- ``digest``: the same for a digest channel's one message.

After the restart every alert arrives, and the only duplicates are the in-flight messages
(accepted before the crash, not recorded as sent), each resent once with the same id (and,
for a digest, the same alerts). Leases are what make the
crashed instance's claims due again: with ``timeout: 2s`` a lease lasts 5 s. (A short
retry keeps a send that timed out on a loaded machine from stalling the test.)
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.support.feeds import Item, rss
from tests.support.http_server import LoopbackServer, Request, Response

WAIT = 60.0  # seconds: an upper bound for conditions, never a sleep


class KillingReceiver:
    """Accepts webhooks; at request number ``kill_at`` SIGKILLs the daemon (and waits until it
    is gone), before or after accepting the request, and only then answers."""

    def __init__(self, kill_at: int, when: str) -> None:
        self.kill_at, self.when = kill_at, when
        self.accepted: list[tuple[str, dict[str, object]]] = []
        self.process: subprocess.Popen[str] | None = None
        self.killed = threading.Event()
        self._count = 0
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        with self._lock:
            self._count += 1
            kill = self._count == self.kill_at
        if kill and self.when == "before":
            self._kill()
            return Response(503)
        with self._lock:
            self.accepted.append((request.headers["webhook-id"], json.loads(request.body)))
        if kill:
            self._kill()
        return Response(200)

    def _kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=WAIT)  # dead before it could read an answer
        self.killed.set()

    def ids(self) -> list[str]:
        with self._lock:
            return [msg_id for msg_id, _ in self.accepted]


def _start(config: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "MONITOR_DATABASE_URL"}
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "--log-format", "json", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _alerts(database: Path) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(database) as conn:
        rows = conn.execute(
            "SELECT id, status, lease_owner FROM alerts ORDER BY created_at, release_id"
        ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def _wait_until(condition: Callable[[], bool]) -> bool:
    """Poll a condition (not a fixed sleep) until it holds or ``WAIT`` passes."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


@pytest.mark.parametrize(
    ("releases", "kill_at", "when", "digest"),
    [
        pytest.param(1, 1, "before", False, id="before-send"),
        pytest.param(1, 1, "after", False, id="after-send-before-record"),
        pytest.param(5, 3, "after", False, id="mid-batch"),
        pytest.param(3, 1, "after", True, id="digest"),
    ],
)
def test_sigkill_during_delivery_loses_nothing(
    tmp_path: Path,
    http_server: LoopbackServer,
    releases: int,
    kill_at: int,
    when: str,
    digest: bool,
) -> None:
    now = datetime.now(UTC)
    items = [
        Item(
            f"n{i}", f"NATO talks, round {i}", f"Meeting number {i}.", f"https://m.example/{i}", now
        )
        for i in range(releases)
    ]
    http_server.route("/feed", Response(body=rss(items, language="en")))
    receiver = KillingReceiver(kill_at, when)
    http_server.route("/hook", receiver)
    database = tmp_path / "db.sqlite"
    config = tmp_path / "monitor.yaml"
    config.write_text(
        textwrap.dedent(f"""
        database: sqlite:///{database}
        defaults: {{interval: 10s}}
        sources:
          - id: mofa
            url: {http_server.url("/feed")}
        rules:
          - id: nato
            query: NATO
            channels: [hook]
        channels:
          - id: hook
            type: webhook
            url: {http_server.url("/hook")}
            timeout: 2s
            retry: {{initial: 1s, max: 2s}}
            {"digest: 1s" if digest else ""}
        """),
        encoding="utf-8",
    )

    receiver.process = first = _start(config)
    try:
        reached = receiver.killed.wait(WAIT)
    finally:
        if first.poll() is None:
            first.kill()
        _, stderr = first.communicate(timeout=WAIT)
    assert reached, f"the daemon never reached the crash point: {stderr}"
    assert first.returncode == -signal.SIGKILL
    expected = {alert_id for alert_id, _, _ in _alerts(database)}
    assert len(expected) == releases
    recorded = {alert_id for alert_id, status, _ in _alerts(database) if status == "sent"}
    in_flight = set(receiver.ids()) - recorded  # received, but the daemon died first

    receiver.process = second = _start(config)
    try:
        delivered = _wait_until(lambda: all(status == "sent" for _, status, _ in _alerts(database)))
        second.send_signal(signal.SIGTERM)
        code = second.wait(timeout=15)
    finally:
        if second.poll() is None:
            second.kill()
        _, stderr = second.communicate(timeout=WAIT)
    assert delivered, f"not every alert was recorded as sent: {stderr}"
    assert code == 0, stderr

    assert all(lease is None for _, _, lease in _alerts(database)), stderr
    messages = receiver.ids()
    if digest:
        # one digest, resent once under the same id with the same alerts
        (digest_id,) = set(messages)
        assert messages == [digest_id, digest_id]
        first_body, second_body = (body for _, body in receiver.accepted)
        assert first_body == second_body
        assert {a["id"] for a in first_body["alerts"]} == expected  # type: ignore[attr-defined]
        return
    assert set(messages) == expected  # every alert arrived
    duplicates = {msg_id: n for msg_id, n in Counter(messages).items() if n > 1}
    if when == "before":
        assert duplicates == {}  # never received before the crash: exactly once
    else:
        assert messages[kill_at - 1] in duplicates  # the one the receiver killed it on
        # only in-flight alerts, each once more, with the same id
        assert set(duplicates) <= in_flight and set(duplicates.values()) == {2}
