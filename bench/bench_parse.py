"""Parse time of the whole feed corpus: lxml fast path with feedparser fallback, against
feedparser alone. One process, each body parsed once per side (after a warm-up of the
imports). Prints figures and asserts nothing. Run from the project root:

    .venv/bin/python -m bench.bench_parse
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import monitor.parse.lxml_feed as fast
from monitor.errors import ParseError
from monitor.parse.feed import parse_feed
from tests.parse.test_corpus import FILES

URL = "https://corpus.example/feed"


@contextlib.contextmanager
def feedparser_only() -> Iterator[None]:
    original = fast.parse_fast
    fast.parse_fast = lambda *args, **kwargs: None
    try:
        yield
    finally:
        fast.parse_fast = original


def timed(bodies: list[bytes]) -> float:
    start = time.perf_counter()
    for body in bodies:
        with contextlib.suppress(ParseError):
            parse_feed(body, {}, URL)
    return time.perf_counter() - start


def main() -> None:
    files = [(path, category) for path, category in FILES if "not-a-feed" not in category]
    bodies = [Path(path).read_bytes() for path, _ in files]
    xml = [b for b, (_, category) in zip(bodies, files, strict=True) if "json" not in category]
    taken = [b for b in bodies if fast.parse_fast(b, "", URL, None) is not None]
    megabytes = sum(map(len, bodies)) / 1e6
    taken_mb = sum(map(len, taken)) / 1e6
    timed(bodies[:5])
    with feedparser_only():
        timed(bodies[:5])
        reference = timed(bodies)
        reference_taken = timed(taken)
    both = timed(bodies)
    fast_taken = timed(taken)
    print(f"corpus: {len(bodies)} feeds ({len(xml)} XML), {megabytes:.1f} MB")
    print(f"fast path takes {len(taken)} of {len(xml)} XML feeds ({taken_mb:.1f} MB)")
    print(f"feedparser only:     {reference:6.2f} s  {reference / megabytes:.3f} s/MB")
    print(f"fast + fallback:     {both:6.2f} s  {both / megabytes:.3f} s/MB")
    print(f"  speed-up:          {reference / both:6.1f}x")
    print(f"on the feeds taken:  feedparser {reference_taken:.2f} s, fast {fast_taken:.2f} s")
    print(f"  speed-up:          {reference_taken / fast_taken:6.1f}x")


if __name__ == "__main__":
    main()
