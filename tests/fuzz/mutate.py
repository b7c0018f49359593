"""What the fuzz targets share: their seeds, mutations of them, and the run's size.

Seeds are the small files in ``tests/fuzz/corpus/<target>/`` plus, for the feed parsers,
the small feeds of the shared corpus (read where they are, never copied here). A mutation
is a few edits of one seed — bytes flipped, inserted, deleted, duplicated, cut, another
seed spliced in, or a token from a dictionary of what breaks parsers (markup, entities,
NUL and other controls, invalid UTF-8, lone surrogates, bidi marks, deep nesting).

Two sizes of run:

- the normal suite (``./scripts/test``): ``NORMAL_EXAMPLES`` examples a target,
  derandomized — the same examples every run, so a test never fails by chance;
- a release check: ``HYPOTHESIS_PROFILE=fuzz .venv/bin/pytest tests/fuzz`` —
  ``FUZZ_EXAMPLES`` random examples a target (``FUZZ_EXAMPLES=100000`` for more), and
  Hypothesis's example database keeps whatever failed for the next run.

Time bounds are Hypothesis deadlines: an example slower than its target's deadline fails
(Hypothesis runs it again to confirm). They are generous — the machine is shared — and
meant to catch the unbounded (an expansion, a backtracking regex), not to measure speed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.conftest import corpus_index

HERE = Path(__file__).parent / "corpus"
NORMAL_EXAMPLES = 40
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES") or 5000)
FUZZING = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"

TOKENS: list[bytes] = [
    b"<",
    b">",
    b"</item>",
    b"<item>",
    b"<entry>",
    b"<title>",
    b"</title>",
    b"<![CDATA[",
    b"]]>",
    b"<!--",
    b"&",
    b"&amp;",
    b"&#0;",
    b"&#xD800;",
    b"&#x1F600;",
    b"&nbsp;",
    b"&unknown;",
    b"<!DOCTYPE rss [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;'>]>",
    b"<?xml version='1.0' encoding='windows-1256'?>",
    b'xml:base="javascript:x"',
    b'xml:lang="ar"',
    b"\x00",
    b"\x01\x0b\x1f",
    b"\xed\xa0\x80",  # a lone surrogate, as UTF-8 would write it (invalid)
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    "\u202e\u200f\u2066".encode(),
    "الناتو".encode(),
    "١٥ رجب ١٤٤٠ هـ".encode(),
    b"<a><b><c><d><e><f><g><h>" * 8,
    b'"',
    b"'",
    b"{",
    b"}",
    b"[",
    b"]",
    b'"items": [',
    b"null",
    b"1e999",
    b"-0",
    b"\\ud800",
    b"\\u0000",
    b"9" * 40,
    b"Wed, 31 Feb 2019 25:61:61 +9999",
    b"0000-00-00T00:00:00",
]


def seeds(target: str, *, shared: Callable[[], list[bytes]] | None = None) -> list[bytes]:
    found = [p.read_bytes() for p in sorted((HERE / target).iterdir()) if p.is_file()]
    if shared is not None:
        found += shared()
    return found


def small_corpus_feeds(limit: int = 8000) -> list[bytes]:
    """The shared corpus's feeds under ``limit`` bytes (the index names category and size)."""
    return [
        feed.path.read_bytes()
        for feed in corpus_index()
        if "expected" not in feed.category and feed.size <= limit
    ]


@st.composite
def mutated(draw: st.DrawFn, pool: list[bytes], tokens: list[bytes] | None = None) -> bytes:
    """A seed from ``pool`` after 0-6 random edits (``tokens``: the dictionary to insert)."""
    data = bytearray(draw(st.sampled_from(pool)))
    for _ in range(draw(st.integers(0, 6))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["flip", "insert", "token", "delete", "dup", "cut", "splice"]))
        if op == "flip" and data:
            i = min(at, len(data) - 1)
            data[i] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(max_size=16))
        elif op == "token":
            data[at:at] = draw(st.sampled_from(tokens or TOKENS)) * draw(st.integers(1, 3))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif op == "dup":
            data[at:at] = data[at : at + draw(st.integers(1, 256))] * draw(st.integers(1, 4))
        elif op == "cut":
            del data[at:]
        elif op == "splice":
            other = draw(st.sampled_from(pool))
            start = draw(st.integers(0, len(other)))
            data[at:at] = other[start : start + draw(st.integers(1, 512))]
    return bytes(data)


def run(deadline: float) -> settings:
    """The settings of a fuzz target whose examples must each finish within ``deadline`` s."""
    return settings(
        max_examples=FUZZ_EXAMPLES if FUZZING else NORMAL_EXAMPLES,
        derandomize=not FUZZING,
        database=None if not FUZZING else settings.default.database,
        deadline=timedelta(seconds=deadline),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
