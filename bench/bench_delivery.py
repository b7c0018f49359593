"""Delivery figures: alerts per second to a loopback webhook and SMTP server, and the time
from a release appearing in a feed to its webhook arriving under ``monitor run``.

Throughput: one poll stores ``--alerts`` matching releases (alerts queued for a webhook and
an email channel), then each channel's worker drains its outbox alone and is timed. The
receivers run in this process (a threaded HTTP server, aiosmtpd), so the figures are a
floor for what a real receiver allows.

Latency: ``monitor run`` polls a loopback feed every 2 s; a new release is added to the
feed, and the time from the feed response that first carried it to the webhook's arrival
is measured (target: under 1 s). Prints figures, asserts nothing. From the project root:

    .venv/bin/python -m bench.bench_delivery [--alerts 500] [--rounds 5] [--database URL]

Statements (``--statements``, issue 23): the SQL statements (and commits) a delivery run
makes per alert, counted with SQLAlchemy's ``before_cursor_execute``, on a webhook (one
message an alert), an email channel (one a story) and a webhook with ``max_per_hour``
(the rate limit's reads): a backlog of ``--alerts`` drained in one run, then ``--rounds``
runs of one new alert each (the daemon's usual run). Load-independent; nothing is sent
anywhere but the loopback receivers.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy

from tests.notify.smtp_server import SmtpServer
from tests.support.feeds import Item, rss
from tests.support.http_server import LoopbackServer, Request, Response

ROOT = Path(__file__).resolve().parents[1]


def _items(n: int, prefix: str) -> list[Item]:
    now = datetime.now(UTC)
    return [
        Item(
            f"{prefix}{i}",
            f"NATO talks {prefix}{i}",
            f"Meeting {i}.",
            f"https://m.example/{i}",
            now,
        )
        for i in range(n)
    ]


async def throughput(database: str, n: int) -> None:
    from monitor.config.load import load_config
    from monitor.poll_driver import poll_once
    from monitor.runtime import Runtime

    server = LoopbackServer().start()
    smtp = SmtpServer().start()
    server.route("/feed", Response(body=rss(_items(n, "t"), language="en")))
    server.route("/hook", Response(204))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "monitor.yaml"
        path.write_text(
            textwrap.dedent(f"""
            database: {database}
            sources:
              - id: mofa
                url: {server.url("/feed")}
            rules:
              - id: nato
                query: NATO
                channels: [hook, mail]
            channels:
              - id: hook
                type: webhook
                url: {server.url("/hook")}
                secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
              - id: mail
                type: email
                to: [ops@example.org]
                from: monitor@example.org
                smtp: {{host: 127.0.0.1, port: {smtp.port}, tls: none}}
            """),
            encoding="utf-8",
        )
        config = load_config(path, environ_database=False)
        runtime = await Runtime.start(config)
        try:
            [outcome] = (await poll_once(runtime, ["mofa"], deliver=False)).outcomes
            print(f"throughput: {outcome.new} releases stored, {n} alerts per channel queued")
            for channel, label in (("hook", "webhook (signed)"), ("mail", "email (SMTP)")):
                started = time.perf_counter()
                counts = await runtime.deliverer.deliver_channel(channel)
                took = time.perf_counter() - started
                print(
                    f"  {label:17} {counts.sent:5d} sent in {took:6.2f} s  "
                    f"= {counts.sent / took:7.1f} alerts/s"
                )
        finally:
            await runtime.close()
    server.stop()
    smtp.stop()


class FeedClock:
    """Serves the feed and notes when a response first carried each release."""

    def __init__(self) -> None:
        self.items: list[Item] = []
        self.served: dict[str, float] = {}
        self.arrived: dict[str, float] = {}
        self.lock = threading.Lock()

    def feed(self, request: Request) -> Response:
        with self.lock:
            body = rss(list(self.items), language="en")
            moment = time.perf_counter()
            for item in self.items:
                self.served.setdefault(item.title, moment)
        return Response(body=body)

    def hook(self, request: Request) -> Response:
        moment = time.perf_counter()
        title = json.loads(request.body)["release"]["title"]
        with self.lock:
            self.arrived.setdefault(title, moment)
        return Response(204)


def latency(rounds: int) -> None:
    clock = FeedClock()
    server = LoopbackServer().start()
    server.route("/feed", clock.feed)
    server.route("/hook", clock.hook)
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "monitor.yaml"
        config.write_text(
            textwrap.dedent(f"""
            database: sqlite:///{tmp}/latency.db
            defaults: {{interval: 2s}}
            sources:
              - id: mofa
                url: {server.url("/feed")}
            rules:
              - id: nato
                query: NATO
                channels: [hook]
            channels:
              - id: hook
                type: webhook
                url: {server.url("/hook")}
            """),
            encoding="utf-8",
        )
        env = {k: v for k, v in os.environ.items() if k != "MONITOR_DATABASE_URL"}
        process = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(config), "run"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            server.wait_for_requests("/feed", 1, timeout=30)  # the baseline poll
            figures: list[float] = []
            for i in range(rounds):
                (item,) = _items(1, f"l{i}-")
                with clock.lock:
                    clock.items.append(item)
                deadline = time.monotonic() + 30
                while item.title not in clock.arrived and time.monotonic() < deadline:
                    time.sleep(0.005)
                if item.title in clock.arrived:
                    figures.append(clock.arrived[item.title] - clock.served[item.title])
        finally:
            process.terminate()
            process.wait(timeout=15)
    server.stop()
    if figures:
        print(
            f"latency under `monitor run` (feed response → webhook arrival), {len(figures)} "
            f"releases: median {statistics.median(figures) * 1000:.0f} ms, "
            f"max {max(figures) * 1000:.0f} ms"
        )
    else:
        print("latency: no webhook arrived")


class Counter:
    """Statements and commits on an engine, by kind (the verb and the first table named)."""

    def __init__(self, engine: Any) -> None:
        self.kinds: collections.Counter[str] = collections.Counter()
        self.commits = 0
        sqlalchemy.event.listen(engine.sync_engine, "before_cursor_execute", self._statement)
        sqlalchemy.event.listen(engine.sync_engine, "commit", self._commit)

    def _statement(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        words = statement.split()
        table = next(
            (
                w
                for w, before in zip(words[1:], words, strict=False)
                if before in {"FROM", "UPDATE", "INTO"}
            ),
            "",
        )
        self.kinds[f"{words[0]} {table}"] += 1

    def _commit(self, conn: Any) -> None:
        self.commits += 1

    def take(self) -> tuple[int, int, collections.Counter[str]]:
        taken = (sum(self.kinds.values()), self.commits, self.kinds.copy())
        self.kinds.clear()
        self.commits = 0
        return taken


async def statements(database: str, n: int, rounds: int) -> None:
    from monitor.config.load import load_config
    from monitor.poll_driver import poll_once
    from monitor.runtime import Runtime

    items = _items(n, "s")
    server = LoopbackServer().start()
    smtp = SmtpServer().start()
    server.route("/feed", lambda request: Response(body=rss(list(items), language="en")))
    server.route("/hook", Response(204))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "monitor.yaml"
        path.write_text(
            textwrap.dedent(f"""
            database: {database}
            sources:
              - id: mofa
                url: {server.url("/feed")}
            rules:
              - id: nato
                query: NATO
                channels: [hook, mail, capped]
            channels:
              - id: hook
                type: webhook
                url: {server.url("/hook")}
              - id: capped
                type: webhook
                url: {server.url("/hook")}
                max_per_hour: 1000000
              - id: mail
                type: email
                to: [ops@example.org]
                from: monitor@example.org
                smtp: {{host: 127.0.0.1, port: {smtp.port}, tls: none}}
            """),
            encoding="utf-8",
        )
        config = load_config(path, environ_database=False)
        runtime = await Runtime.start(config)
        counter = Counter(runtime.engine)
        kinds = ("webhook", "max_per_hour", "email")
        try:
            await poll_once(runtime, ["mofa"], deliver=False, no_flood_guard=True)
            for channel, label in zip(("hook", "capped", "mail"), kinds, strict=True):
                counter.take()
                sent = (await runtime.deliverer.deliver_channel(channel)).sent
                total, commits, by_kind = counter.take()
                print(
                    f"backlog {label:12} {sent:4d} alerts: {total / sent:5.2f} statements and "
                    f"{commits / sent:4.2f} commits an alert ({total} and {commits})"
                )
            runs = {label: collections.Counter[str]() for label in kinds}
            totals = dict.fromkeys(kinds, 0)
            for i in range(rounds):
                items.extend(_items(1, f"r{i}-"))
                await poll_once(runtime, ["mofa"], deliver=False, no_flood_guard=True)
                for channel, label in zip(("hook", "capped", "mail"), kinds, strict=True):
                    counter.take()
                    totals[label] += (await runtime.deliverer.deliver_channel(channel)).sent
                    total, commits, by_kind = counter.take()
                    runs[label] += by_kind
                    runs[label]["commits"] += commits
            for label in kinds:
                sent = max(totals[label], 1)
                made = sum(v for k, v in runs[label].items() if k != "commits")
                print(
                    f"one alert a run, {label:12} ({rounds} runs, {totals[label]} sent): "
                    f"{made / sent:5.2f} statements, {runs[label]['commits'] / sent:4.2f} "
                    "commits an alert"
                )
                for kind, count in sorted(runs[label].items(), key=lambda kv: -kv[1]):
                    if kind != "commits":
                        print(f"    {count / sent:5.2f}  {kind}")
        finally:
            await runtime.close()
    server.stop()
    smtp.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--alerts", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database", help="a database URL (default: a new SQLite file)")
    parser.add_argument(
        "--statements", action="store_true", help="count statements an alert, and only that"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        database = args.database or f"sqlite:///{tmp}/bench.db"
        if args.statements:
            asyncio.run(statements(database, args.alerts, args.rounds))
            return
        asyncio.run(throughput(database, args.alerts))
    latency(args.rounds)


if __name__ == "__main__":
    main()
