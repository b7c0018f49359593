"""Poll throughput of 1, 2 and 3 `monitor run` instances sharing one PostgreSQL.

Serves N small feeds on loopback, each answering after a delay (a slow ministry server), and
measures, once the instances have warmed up, how long it takes them to poll every source
when all are due at once. Each instance keeps to
`max_connections_per_host`, so more instances mean more polls in flight. Run from the
project root (PostgreSQL on 127.0.0.1:5432, trust auth):

    .venv/bin/python -m bench.bench_scale [--sources 300] [--delay 0.1]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _Server(ThreadingHTTPServer):
    # socketserver's listen backlog is 5: eight clients connecting at once overflow it, the
    # kernel drops a SYN and that client waits a whole second to retry
    request_queue_size = 128


ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
RSS = (
    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{n}</title>'
    "<item><guid>{n}-1</guid><title>Statement {n}</title><link>https://x.example/{n}</link>"
    "<description>Routine business of ministry {n}.</description></item></channel></rss>"
)


class SlowFeeds:
    def __init__(self, delay: float) -> None:
        self.seen: set[str] = set()
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                time.sleep(delay)
                name = self.path.strip("/")
                body = RSS.format(n=name).encode()
                with server.lock:
                    server.seen.add(name)
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()


def run(instances: int, sources: int, delay: float) -> float:
    import psycopg

    name = f"bench_scale_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    feeds = SlowFeeds(delay)
    port = feeds.httpd.server_address[1]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "monitor.yaml"
            lines = [
                f"database: postgresql+psycopg://postgres@127.0.0.1:5432/{name}",
                "defaults: {interval: 1h, max_connections_per_host: 4}",
                "sources:",
                *(f"  - id: s{i}\n    url: http://127.0.0.1:{port}/s{i}" for i in range(sources)),
                "rules:\n  - id: r\n    query: NATO\n    channels: [console]",
                "channels:\n  - id: console\n    type: log",
            ]
            config.write_text("\n".join(lines) + "\n")
            base = [sys.executable, "-m", "monitor", "--config", str(config)]
            subprocess.run([*base, "db", "upgrade"], check=True, capture_output=True)
            processes = [
                subprocess.Popen(
                    [*base, "run"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env=os.environ.copy(),
                )
                for _ in range(instances)
            ]
            try:
                while len(feeds.seen) < sources:  # the first round warms every instance up
                    time.sleep(0.05)
                time.sleep(2)
                with feeds.lock:
                    feeds.seen.clear()
                # then every source is due at once: how fast do the instances get through?
                with psycopg.connect(ADMIN.rsplit("/", 1)[0] + f"/{name}", autocommit=True) as db:
                    db.execute("UPDATE sources SET next_poll_at = now()")
                started = time.perf_counter()
                while len(feeds.seen) < sources:
                    time.sleep(0.02)
                return time.perf_counter() - started
            finally:
                for process in processes:
                    process.terminate()
                for process in processes:
                    process.wait(timeout=30)
    finally:
        feeds.httpd.shutdown()
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sources", type=int, default=300)
    parser.add_argument(
        "--delay", type=float, default=0.1, help="seconds each feed takes to answer"
    )
    args = parser.parse_args()
    print(
        f"{args.sources} sources answering in {args.delay * 1000:.0f} ms, max_connections_per_host 4"
    )
    single = None
    for count in (1, 2, 3):
        took = run(count, args.sources, args.delay)
        single = single or took
        print(
            f"{count} instance(s): every source polled in {took:6.2f} s  "
            f"({args.sources / took:6.1f} polls/s, x{single / took:.2f})"
        )


if __name__ == "__main__":
    main()
