"""Costs of issue 21's reach features (b21): language from the text, Hijri dates, Apprise.

- ``parse.language``: the identifier's import and model load (time, resident memory), and
  ``detect`` per release over the corpus' items (title + summary + content, as ``prepare``
  gives it), with its agreement with the feeds' declared languages at the threshold;
  the Arabic quick path per call on the seed release.
- ``parse.dates``: ``parse_date`` per call on Hijri, both-calendar and Gregorian forms.
- Apprise: import time and its first URL (which loads its ~190 service plugins), each in
  a fresh interpreter.

Prints figures and asserts nothing. Run from the project root:

    .venv/bin/python -m bench.bench_reach
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from monitor.errors import ParseError
from monitor.parse.feed import parse_feed
from monitor.parse.identity import derive_all
from tests.conftest import SEED_RELEASE
from tests.parse.test_corpus import FILES


def resident_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * 4096 / 1e6


def fresh(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


def language() -> None:
    from monitor.parse import language

    before, start = resident_mb(), time.perf_counter()
    language._model()
    loaded = time.perf_counter() - start
    print(f"language model: loaded in {loaded * 1000:.0f} ms, +{resident_mb() - before:.0f} MB")

    items: list[tuple[str | None, str]] = []
    for path, _ in FILES:
        with contextlib.suppress(ParseError, OSError):
            feed = parse_feed(Path(path).read_bytes(), {}, "https://corpus.example/feed")
            releases, _ = derive_all(feed, feed_url="https://corpus.example/feed")
            for r in releases:
                items.append((r.language, f"{r.title}\n{r.summary[:1000]}\n{r.content[:1000]}"))
    start = time.perf_counter()
    found = [language.detect(text) for _, text in items]
    spent = time.perf_counter() - start
    print(f"detect: {len(items)} corpus items, {spent / len(items) * 1e6:.0f} µs a call")
    declared = [(d, f) for (d, _), f in zip(items, found, strict=True) if d]
    sure = [(d, f) for d, f in declared if f is not None]
    agree = sum(d.split("-")[0] == f for d, f in sure)
    print(
        f"  of {len(declared)} declared: {len(sure)} sure ({len(sure) / len(declared):.1%}), "
        f"{agree / max(len(sure), 1):.1%} of those agree with the declaration"
    )
    seed = SEED_RELEASE.read_text(encoding="utf-8")
    start = time.perf_counter()
    for _ in range(1000):
        language.detect(seed)
    spent = (time.perf_counter() - start) / 1000
    print(f"detect, Arabic quick path (the seed release): {spent * 1e6:.0f} µs a call")


def dates() -> None:
    from monitor.parse.dates import parse_date

    zone = ZoneInfo("Asia/Riyadh")
    for text in (
        "15 رجب 1440 هـ",
        "١٤٤٠/٠٧/١٥ هـ",
        "الأحد 15 رجب 1440 هـ الموافق 22 مارس 2019 م",
        "Wed, 13 Mar 2019 10:00:00 +0300",
    ):
        parse_date(text, zone)
        start = time.perf_counter()
        for _ in range(2000):
            parse_date(text, zone)
        print(f"parse_date {text!r}: {(time.perf_counter() - start) / 2000 * 1e6:.0f} µs")


def apprise() -> None:
    code = (
        "import time; t = time.perf_counter(); import apprise; a = time.perf_counter(); "
        "apprise.Apprise.instantiate('json://127.0.0.1/x'); b = time.perf_counter(); "
        "print(f'{(a - t) * 1000:.0f} {(b - a) * 1000:.0f}')"
    )
    runs = [fresh(code).split() for _ in range(3)]
    print(
        "apprise: import "
        + ", ".join(r[0] for r in runs)
        + " ms; first URL (plugins) "
        + ", ".join(r[1] for r in runs)
        + " ms"
    )


if __name__ == "__main__":
    language()
    dates()
    apprise()
