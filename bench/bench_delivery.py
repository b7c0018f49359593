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
"""

from __future__ import annotations

import argparse
import asyncio
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--alerts", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database", help="a database URL (default: a new SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        database = args.database or f"sqlite:///{tmp}/bench.db"
        asyncio.run(throughput(database, args.alerts))
    latency(args.rounds)


if __name__ == "__main__":
    main()
