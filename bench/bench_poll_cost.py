"""CPU and SQL statements per poll of a long-running `monitor run` (issue 23).

A loopback server (asyncio, keep-alive) serves N small RSS feeds with ETag and
Last-Modified: a revalidation answers 304 unless the feed changed. With ``--churn P``,
P % of the feeds gain an item once per interval. A real `monitor run` polls them at
``--interval``; after a warm-up (every feed fetched once, then ``--settle`` seconds) the
bench counts, over ``--seconds``, the polls the server answered, the CPU seconds of the
monitor's process tree (parse workers included, read from /proc), the SQL statements it
executed, and its log lines. Run from the project root:

    .venv/bin/python -m bench.bench_poll_cost [--sources 2000] [--interval 60] \
        [--churn 0] [--seconds 60] [--database postgres]

Statements are counted in the monitor process by an SQLAlchemy ``before_cursor_execute``
listener that only this bench installs: it runs the daemon through ``child`` below, which
hooks the listener and then calls ``monitor``'s own entry point. An ``executemany`` counts
once (one round trip), its rows separately.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
_TICK = os.sysconf("SC_CLK_TCK")
_ITEM = (
    "<item><guid>s{i}-{n}</guid><title>Statement {n} of ministry {i}</title>"
    "<link>http://ministry.example/{i}/{n}</link><pubDate>{date}</pubDate>"
    "<description>Routine business of ministry {i}, number {n}.</description></item>"
)


class Feeds:
    """N feeds on loopback; ``versions[i]`` items (at least 5) in feed i."""

    def __init__(self, count: int) -> None:
        self.versions = [5] * count
        self.polls = 0
        self.changed_polls = 0
        self.fetched: set[int] = set()
        self.loop = asyncio.new_event_loop()
        self.port = 0
        ready = threading.Event()
        threading.Thread(target=self._serve, args=(ready,), daemon=True).start()
        ready.wait()

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            asyncio.start_server(self._client, "127.0.0.1", 0, backlog=512)
        )
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    def body(self, i: int) -> bytes:
        date = "Mon, 07 Dec 2026 00:00:00 GMT"
        items = "".join(
            _ITEM.format(i=i, n=n, date=date) for n in range(self.versions[i], 0, -1)[:20]
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Ministry {i}</title>{items}</channel></rss>"
        ).encode()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1].decode()
                match = re.search(rb"(?i)\r\nif-none-match: *([^\r]*)", head)
                i = int(path.rsplit("/", 1)[1].removesuffix(".xml"))
                etag = f'"{i}-{self.versions[i]}"'
                self.polls += 1
                self.fetched.add(i)
                validators = f"ETag: {etag}\r\nLast-Modified: Mon, 07 Dec 2026 00:00:00 GMT\r\n"
                if match and match.group(1).decode() == etag:
                    writer.write(f"HTTP/1.1 304 Not Modified\r\n{validators}\r\n".encode())
                else:
                    self.changed_polls += 1
                    body = self.body(i)
                    writer.write(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                        f"{validators}Content-Length: {len(body)}\r\n\r\n".encode()
                        + body
                    )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def churn(self, percent: float) -> None:
        def bump() -> None:
            for i in random.sample(
                range(len(self.versions)), int(len(self.versions) * percent / 100)
            ):
                self.versions[i] += 1

        self.loop.call_soon_threadsafe(bump)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def tree_cpu(root: int) -> float:
    """CPU seconds (user + system) of ``root`` and its descendants now."""
    stats: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                raw = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = raw[raw.rindex(")") + 2 :].split()
            stats[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK)
    tree, grew = {root}, True
    while grew:
        grew = False
        for pid, (parent, _) in stats.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return sum(stats[pid][1] for pid in tree if pid in stats)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def child() -> None:
    """``monitor`` itself, with a statement counter written to $BENCH_STATEMENTS on SIGUSR1."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    counts: Counter[str] = Counter()

    @event.listens_for(Engine, "before_cursor_execute")
    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "?"
        counts[verb] += 1
        counts["*"] += 1
        counts["rows"] += len(parameters) if executemany else 1

    target = Path(os.environ["BENCH_STATEMENTS"])

    def dump(*_: object) -> None:  # on SIGUSR1 only: a thread writing it would cost CPU
        target.write_text(json.dumps(dict(counts)))

    signal.signal(signal.SIGUSR1, dump)
    from monitor.cli import main

    sys.argv = ["monitor", *sys.argv[2:]]
    main()


def run(args: argparse.Namespace) -> None:
    feeds = Feeds(args.sources)
    # a prefix of its own on the shared server (BENCH_DB_PREFIX), dropped at the end
    name = f"{os.environ.get('BENCH_DB_PREFIX', 'bench_cost')}_{uuid.uuid4().hex[:8]}"
    postgres = args.database == "postgres"
    if postgres:
        import psycopg

        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    with tempfile.TemporaryDirectory() as tmp:
        database = (
            f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
            if postgres
            else f"sqlite:///{tmp}/bench.db"
        )
        config = Path(tmp) / "monitor.yaml"
        sources = (
            f"  - id: s{i}\n    url: http://127.0.0.1:{feeds.port}/s/{i}.xml"
            for i in range(args.sources)
        )
        config.write_text(
            "\n".join(
                [
                    f"database: {database}",
                    f"defaults: {{interval: {args.interval}s, max_connections_per_host: 8}}",
                    "sources:",
                    *sources,
                    "rules:",
                    "  - id: nato\n    query: NATO\n    channels: [log]",
                    '  - id: ministry\n    query: ministry AND "number 7"\n    channels: [log]',
                    "channels:\n  - id: log\n    type: log",
                    f"http:\n  listen: 127.0.0.1:{free_port()}",
                ]
            )
            + "\n"
        )
        base = [sys.executable, "-m", "monitor", "--config", str(config)]
        upgrade = subprocess.run([*base, "db", "upgrade"], capture_output=True, text=True)
        if upgrade.returncode:
            raise SystemExit(upgrade.stderr + upgrade.stdout)
        counter = Path(tmp) / "statements.json"
        log_path = Path(tmp) / "monitor.log"
        env = {**os.environ, "BENCH_STATEMENTS": str(counter)}
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                [sys.executable, "-m", "bench.bench_poll_cost", "child", "--config", str(config)]
                + (["-v"] if args.verbose else [])
                + ["run"],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=env,
            )
            try:
                measure(args, feeds, process, counter, log_path)
            finally:
                process.terminate()
                process.wait(timeout=30)
                if args.keep_log:
                    Path(args.keep_log).write_bytes(log_path.read_bytes())
    if postgres:
        import psycopg

        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def statements(process: subprocess.Popen[bytes], counter: Path) -> dict[str, int]:
    """The daemon's statement counts now (it writes them on SIGUSR1)."""
    counter.unlink(missing_ok=True)
    process.send_signal(signal.SIGUSR1)
    while not counter.exists() or not counter.read_text().endswith("}"):
        time.sleep(0.01)
    counts: dict[str, int] = json.loads(counter.read_text())
    return counts


def measure(
    args: argparse.Namespace,
    feeds: Feeds,
    process: subprocess.Popen[bytes],
    counter: Path,
    log_path: Path,
) -> None:
    started = time.monotonic()
    while len(feeds.fetched) < args.sources:
        if process.poll() is not None:
            raise SystemExit(f"monitor run exited: {log_path.read_text()[-2000:]}")
        if time.monotonic() - started > args.interval * 3:
            raise SystemExit(f"only {len(feeds.fetched)} of {args.sources} feeds fetched")
        time.sleep(0.2)
    warm = time.monotonic() - started
    time.sleep(args.settle)
    print(f"  warm-up: every feed fetched in {warm:.1f} s; then {args.settle} s settling")
    churn_every = args.interval
    next_churn = time.monotonic()
    polls0, changed0 = feeds.polls, feeds.changed_polls
    cpu0 = tree_cpu(process.pid)
    statements0 = statements(process, counter)
    lines0 = log_path.read_bytes().count(b"\n")
    load0 = os.getloadavg()[0]
    spy = None
    if args.profile:  # py-spy (pip install py-spy, never a project dependency) over the window
        spy = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "py-spy"),
                "record",
                "--nonblocking",
                "--format",
                "speedscope" if args.profile.endswith(".json") else "flamegraph",
                "-o",
                args.profile,
                "-d",
                str(int(args.seconds)),
                "--pid",
                str(process.pid),
            ],
            stdout=subprocess.DEVNULL,
        )
    t0 = time.monotonic()
    while (elapsed := time.monotonic() - t0) < args.seconds:
        if args.churn and time.monotonic() >= next_churn:
            feeds.churn(args.churn)
            next_churn += churn_every
        time.sleep(0.1)
    cpu = tree_cpu(process.pid) - cpu0
    if spy is not None:
        spy.wait()
    after = statements(process, counter)
    polls = feeds.polls - polls0
    changed = feeds.changed_polls - changed0
    lines = log_path.read_bytes().count(b"\n") - lines0
    load1 = os.getloadavg()[0]
    delta = {k: after.get(k, 0) - statements0.get(k, 0) for k in after}
    per = max(polls, 1)
    print(
        f"  {polls} polls in {elapsed:.0f} s ({polls / elapsed:.1f}/s, {changed} changed), "
        f"CPU {cpu:.2f} s = {cpu / elapsed * 100:.1f} % of one core, "
        f"{cpu / per * 1000:.2f} ms per poll; RSS {rss_mb(process.pid):.0f} MB (main process)"
    )
    verbs = ", ".join(
        f"{k} {v / per:.2f}" for k, v in sorted(delta.items()) if k not in ("*", "rows") and v
    )
    print(
        f"  statements per poll {delta.get('*', 0) / per:.2f} (rows {delta.get('rows', 0) / per:.2f}): "
        f"{verbs}; log lines per poll {lines / per:.2f}; load {load0:.2f} -> {load1:.2f}"
    )


def reports(count: int) -> None:
    """``monitor sources`` (wall and CPU of the command) and a /metrics scrape (in process,
    after one poll of each source is counted) with ``count`` sources."""
    import resource

    from monitor.ops.metrics import Metrics
    from monitor.store.session import open_store
    from monitor.store.sources import sync_sources

    with tempfile.TemporaryDirectory() as tmp:
        config_path = Path(tmp) / "monitor.yaml"
        sources = (f"  - id: s{i}\n    url: http://127.0.0.1:9/s/{i}.xml" for i in range(count))
        config_path.write_text(
            "\n".join(
                [
                    f"database: sqlite:///{tmp}/bench.db",
                    "sources:",
                    *sources,
                    "rules:\n  - id: nato\n    query: NATO\n    channels: [log]",
                    "channels:\n  - id: log\n    type: log",
                ]
            )
            + "\n"
        )
        base = [sys.executable, "-m", "monitor", "--config", str(config_path)]
        subprocess.run([*base, "db", "upgrade"], check=True, capture_output=True)
        for args in (["sources"], ["sources", "--json"]) * 2:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            wall = time.perf_counter()
            done = subprocess.run([*base, *args], check=True, capture_output=True)
            wall = time.perf_counter() - wall
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
            lines = len(done.stdout.splitlines())
            print(
                f"  monitor {' '.join(args)}: {wall:.2f} s wall, {cpu:.2f} s CPU, "
                f"{lines} lines; load {os.getloadavg()[0]:.2f}"
            )

        from monitor.config.load import load_config

        config = load_config(config_path, environ_database=False)

        class Outcome:
            ok, not_modified, new, skipped = True, True, 0, 0

            def __init__(self, source_id: str) -> None:
                self.source_id = source_id

        async def scrape() -> None:
            engine = await open_store(config.database)
            await sync_sources(engine, config)
            metrics = Metrics()
            for source in config.sources:
                metrics.record_poll(Outcome(source.id), 0.01)
            for _ in range(3):
                cpu, wall = time.process_time(), time.perf_counter()
                body = await metrics.scrape(engine)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                print(
                    f"  /metrics: {wall:.3f} s wall, {cpu:.3f} s CPU, {len(body) / 1e6:.1f} MB; "
                    f"load {os.getloadavg()[0]:.2f}"
                )
            await engine.dispose()

        asyncio.run(scrape())


def main() -> None:
    if sys.argv[1:2] == ["child"]:
        child()
        return
    if sys.argv[1:2] == ["reports"]:
        reports(int(sys.argv[2]) if len(sys.argv) > 2 else 10_000)
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--sources", type=int, default=2000)
    parser.add_argument("--interval", type=int, default=60, help="seconds")
    parser.add_argument(
        "--churn", type=float, default=0.0, help="%% of feeds changing per interval"
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="the measured window")
    parser.add_argument("--settle", type=float, default=10.0)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--verbose", action="store_true", help="run the daemon with -v")
    parser.add_argument("--profile", help="py-spy the daemon over the window into this file")
    parser.add_argument("--keep-log", help="copy the daemon's log here")
    args = parser.parse_args()
    print(
        f"{args.sources} sources at {args.interval} s, churn {args.churn} %, {args.database}; "
        f"load {os.getloadavg()[0]:.2f}"
    )
    run(args)


if __name__ == "__main__":
    main()
