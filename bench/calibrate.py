"""How fast this machine runs Python today: a fixed workload, its CPU seconds.

The project's figures are taken "on this machine", but the machine under a session is not
always the same host: on 2026-12-07 the same commit's 50,000-item flood took 9.6-11.4 s of
CPU in one session and 13-16 s in the next, at a lower load. Run this beside a bench and
quote it with the figures; dividing by it compares figures across sessions.

Each part runs three times and its least CPU is kept (the load only ever adds). The parts
stand for what a poll does: plain Python (the pipeline's objects), regular expressions and
JSON (text and payloads), lxml (the feed fast path) and SQLite (the store). Nothing here is
the project's code, so a change to monitor never moves this figure.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from lxml import etree

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
RELEASE = CORPUS / "releases" / "mofa-qa-nato-2019-03-13.ar.txt"


def _python() -> None:
    table: dict[str, int] = {}
    for i in range(400_000):
        key = f"source-{i % 5000}"
        table[key] = table.get(key, 0) + i
    sorted(table.items(), key=lambda kv: kv[1])


def _text() -> None:
    text = RELEASE.read_text(encoding="utf-8") * 20
    word = re.compile(r"\w+")
    for _ in range(30):
        words = word.findall(text.casefold())
        json.loads(json.dumps({"words": words}, ensure_ascii=False))


def _xml() -> None:
    items = "".join(
        f"<item><title>Item {i}</title><link>https://e.example/{i}</link>"
        f"<description>{'text ' * 40}</description></item>"
        for i in range(2000)
    )
    body = f"<rss><channel>{items}</channel></rss>".encode()
    for _ in range(10):
        root = etree.fromstring(body)
        [(e.findtext("title"), e.findtext("link")) for e in root.iter("item")]


def _sqlite() -> None:
    db = sqlite3.connect(":memory:")
    db.execute("create table r (id integer primary key, url text unique, body text)")
    db.executemany(
        "insert into r (url, body) values (?, ?)",
        ((f"https://e.example/{i}", "body " * 20) for i in range(60_000)),
    )
    db.execute("select count(*), max(length(body)) from r where url like '%9%'").fetchone()
    db.close()


PARTS: dict[str, Callable[[], None]] = {
    "python": _python,
    "text": _text,
    "xml": _xml,
    "sqlite": _sqlite,
}


def least_cpu(part: Callable[[], None], rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        part()
        best = min(best, time.process_time() - start)
    return best


def main() -> None:
    figures = {name: least_cpu(part) for name, part in PARTS.items()}
    load = os.getloadavg()[0]
    cells = "  ".join(f"{name} {cpu:.3f}" for name, cpu in figures.items())
    print(f"calibrate  {cells}  total {sum(figures.values()):.3f} s of CPU  (load {load:.1f})")


if __name__ == "__main__":
    main()
