"""Hostile inputs within ``max_bytes`` (issue 22): what one `monitor poll` of each costs.

Each scenario serves one feed on loopback and runs `monitor poll --backfill 30d` as a real
subprocess against a new database, with the shipped NATO and cyber rules alerting a
loopback webhook receiver. Printed per scenario: wall time, CPU seconds and peak RSS of the
poll's whole process tree (its parse worker included), the database's size, the webhook
requests received and the largest webhook body.

- ``nato``: one RSS item whose description is "NATO " a million times (5 MB);
- ``arabic``: one RSS item whose description is the seed release (Arabic, with NATO
  terms) repeated to 9.5 MB;
- ``flood``: 50,000 small items (8 MB), each naming NATO, all dated within the backfill
  (a site migration that changed every link); the webhook answers each request at once.

Run from the project root (``--database`` takes a PostgreSQL URL; default a SQLite file):

    .venv/bin/python -m bench.bench_hostile [nato arabic flood] [--database URL]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT.parent / "shared" / "corpus" / "releases" / "mofa-qa-nato-2019-03-13.ar.txt"


def _rss(items: list[tuple[str, str, str]]) -> bytes:
    """An RSS 2.0 body of (title, description, link) items, all published an hour ago."""
    date = format_datetime(datetime.now(UTC) - timedelta(hours=1))
    parts = ['<?xml version="1.0" encoding="utf-8"?>', '<rss version="2.0"><channel>']
    parts.append("<title>hostile</title><link>https://ministry.example/</link>")
    for title, description, link in items:
        parts.append(
            f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
            f"<pubDate>{date}</pubDate><description>{escape(description)}</description></item>"
        )
    parts.append("</channel></rss>")
    return "\n".join(parts).encode("utf-8")


def nato() -> bytes:
    return _rss([("NATO, again", "NATO " * 1_000_000, "https://ministry.example/nato")])


def arabic() -> bytes:
    seed = SEED.read_text(encoding="utf-8")
    repeats = 9_500_000 // len(seed.encode("utf-8"))
    return _rss([(seed.splitlines()[0], seed * repeats, "https://ministry.example/ar")])


def flood() -> bytes:
    return _rss([(f"NATO {i}", "Met NATO.", f"https://m.example/n/{i}") for i in range(50_000)])


def one() -> bytes:
    """One small item: what any ``monitor poll`` on a new database costs whatever its input
    (the interpreter, imports, migrations, the parse worker's start-up), to read the other
    figures against."""
    return _rss([("NATO", "Met NATO.", "https://m.example/one")])


SCENARIOS: dict[str, Callable[[], bytes]] = {
    "one": one,
    "nato": nato,
    "arabic": arabic,
    "flood": flood,
}


class Receiver:
    """A loopback webhook receiver (204) and a server for the feed body."""

    def __init__(self, body: bytes) -> None:
        self.requests = 0
        self.largest = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                got = self.rfile.read(length)
                receiver.requests += 1
                receiver.largest = max(receiver.largest, len(got))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _config(path: Path, database: str, port: int) -> None:
    path.write_text(
        f"""
database: {database}
sources:
  - id: hostile
    url: http://127.0.0.1:{port}/feed.xml
rules:
  - id: nato
    name: NATO
    query: 'NATO OR OTAN OR الناتو OR "حلف شمال الأطلسي"'
    channels: [hook]
  - id: cyber
    query: 'cyber* OR "الأمن السيبراني" OR "الدفاع السيبراني" OR "الدفاع الإلكتروني"'
    channels: [hook]
channels:
  - id: hook
    type: webhook
    url: http://127.0.0.1:{port}/hook
""",
        encoding="utf-8",
    )


def _database_size(database: str, tmp: Path) -> int:
    if database.startswith("sqlite"):
        return sum(p.stat().st_size for p in tmp.glob("bench.db*"))
    import psycopg

    plain = database.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(plain) as connection:
        row = connection.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relkind = 'r'"
        ).fetchone()
    return int(row[0]) if row else 0


def run(name: str, database: str | None) -> None:
    from bench.treestat import TreeStat

    body = SCENARIOS[name]()
    with tempfile.TemporaryDirectory() as tmp, Receiver(body) as receiver:
        url = database or f"sqlite:///{tmp}/bench.db"
        config = Path(tmp) / "monitor.yaml"
        _config(config, url, receiver.port)
        command = [sys.executable, "-m", "monitor", "--config", str(config)]
        command += ["poll", "--backfill", "30d"]
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=tmp, stderr=subprocess.PIPE, text=True)
        with TreeStat(process.pid) as tree:
            _, stderr = process.communicate()
        wall = time.perf_counter() - started
        summary = [line for line in stderr.splitlines() if line.startswith(("hostile", "alerts"))]
        print(
            f"{name:7} body {len(body) / 1e6:5.1f} MB  wall {wall:6.1f} s  "
            f"cpu {tree.cpu_seconds:6.1f} s  peak {tree.peak_mb:6.0f} MB (PSS {tree.peak_pss_mb:4.0f})  "
            f"database {_database_size(url, Path(tmp)) / 1e6:6.1f} MB  "
            f"webhooks {receiver.requests:6d}  largest {receiver.largest / 1e3:8.1f} KB  "
            f"exit {process.returncode}"
        )
        for line in summary:
            print(f"        {line[:200]}")
        for pid, process in sorted(tree.processes.items()):
            role = "parse worker" if "multiprocessing" in process.command else "monitor poll"
            print(
                f"        {role:12} pid {pid}: cpu {process.cpu_seconds:5.1f} s, "
                f"peak {process.peak_rss / 1e6:5.0f} MB (PSS {process.peak_pss / 1e6:4.0f})"
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    # no ``choices``: argparse checks a list default against them as one value, and fails
    parser.add_argument("scenarios", nargs="*", metavar="{one,nato,arabic,flood}")
    parser.add_argument("--database", help="a PostgreSQL URL (default: a new SQLite file)")
    args = parser.parse_args()
    for name in args.scenarios:
        if name not in SCENARIOS:
            parser.error(f"unknown scenario {name!r} (known: {', '.join(SCENARIOS)})")
    args.scenarios = args.scenarios or list(SCENARIOS)
    os.environ.pop("MONITOR_DATABASE_URL", None)
    import compileall

    # as an installed package would be (``bench.peers`` does the same): with
    # PYTHONDONTWRITEBYTECODE set (as it may be in containers and CI) the checkout has no
    # bytecode, and both the poll and its parse worker would spend ~0.1 s compiling it
    import monitor

    compileall.compile_dir(Path(monitor.__file__).parent, quiet=1)
    for name in args.scenarios:
        run(name, args.database)


if __name__ == "__main__":
    main()
