"""Copies are compared on a body's first ``MAX_STORY_WORDS`` words, as its band keys are:
a long body is folded a slice at a time and gives the words the whole folding gives."""

from __future__ import annotations

from monitor.rules.normalize import words
from monitor.store.stories import first_words
from monitor.stories import MAX_STORY_WORDS
from tests.conftest import SEED_RELEASE


def test_the_first_words_of_a_long_body_are_those_of_the_whole_folding() -> None:
    seed = SEED_RELEASE.read_text(encoding="utf-8")
    # 2.6 MB: three slices, cut at spaces among Arabic, Latin and digits
    body = (seed + " NATO-led, 2019 ") * (2_600_000 // len(seed))
    assert first_words(body) == words(body)[:MAX_STORY_WORDS]
    assert first_words(body, 10**9) == words(body)
    assert first_words("") == [] and first_words("  a  ") == ["a"]


def test_the_shingle_cache_holds_a_bounded_number_of_shingles() -> None:
    # 4,096 long releases once held 262 MB of shingles in a cold poll of the corpus: the
    # cache is bounded by what it holds, and still answers for the releases seen last
    from monitor.store import stories as store_stories

    budget = store_stories._CACHED_SHINGLES
    sizes = []
    for n in range(40):  # 40 bodies of ~20,000 distinct words: over three times the budget
        body = " ".join(f"w{n}x{i}" for i in range(MAX_STORY_WORDS))
        sizes.append(len(store_stories._shingles(f"hash-{n}", "", body)))
    held = sum(len(s) for s in store_stories._SHINGLES.values())
    assert held <= budget and held == store_stories._cached_total
    assert store_stories._cached_shingles("hash-39") is not None  # the latest stays
    assert store_stories._cached_shingles("hash-0") is None
    assert min(sizes) > 19_000


def test_the_shingle_cache_holds_eight_bytes_a_shingle() -> None:
    # as frozensets of ints the full cache was 24 MB of a daemon's ~250 MB at 100,000
    # sources (a hash-table slot and an int object a shingle): it holds 8-byte values, and
    # gives the same set back
    import sys

    from monitor.store import stories as store_stories

    body = " ".join(f"v{i}" for i in range(2_000))
    found = store_stories._shingles("hash-compact", "", body)
    held = store_stories._SHINGLES["hash-compact"]
    assert sys.getsizeof(held) < 8 * len(found) + 100
    assert store_stories._cached_shingles("hash-compact") == found
