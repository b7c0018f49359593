"""Hits are bounded by the input's size, never its content (issue 22.2).

A body that says "NATO" a million times gives a match with its first 100 hits and a total
of a million; NEAR pairs sorted positions and still means what SPEC section 3 says (checked
against its definition on generated documents).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.model import Document
from monitor.rules.evaluate import MAX_HITS
from monitor.rules.matcher import KEEP_OCCURRENCES, RuleSpec, compile_rules

NATO = compile_rules([RuleSpec("nato", "NATO", "NATO OR الناتو")], {})


def test_a_million_hits_keep_the_first_hundred_and_count_all() -> None:
    [found] = NATO.match(Document(title="NATO, again", content="NATO " * 1_000_000))
    assert found.total == found.hit_count == 1_000_001
    assert len(found.hits) == MAX_HITS
    assert found.hits[0].field == "title" and found.hits[0].start == 0
    assert [h.start for h in found.hits[1:4]] == [0, 5, 10]  # then the content, in order
    assert {h.term for h in found.hits} == {"NATO"}


def test_occurrences_past_those_kept_are_counted_in_the_fields_that_hit() -> None:
    body = "الناتو " * (KEEP_OCCURRENCES + 5_000)
    [found] = NATO.match(Document(title="قطر", summary=body, content="NATO " * 3))
    assert found.hit_count == KEEP_OCCURRENCES + 5_000 + 3
    assert [h.field for h in found.hits] == ["summary"] * MAX_HITS


def test_a_few_hits_are_all_kept_and_no_total_is_needed() -> None:
    [found] = NATO.match(Document(title="NATO", content="قطر والناتو"))
    assert len(found.hits) == 2 and found.total is None and found.hit_count == 2


WORDS = st.lists(st.sampled_from("abc"), min_size=1, max_size=40)


def _near_places(words: list[str], distance: int, ordered: bool) -> set[int] | None:
    """SPEC's NEAR, by its definition: the positions of an 'a' and a 'b' at most
    ``distance`` apart (with ONEAR, 'a' first), every such pair highlighted."""
    places: set[int] = set()
    for i, left in enumerate(words):
        for j, right in enumerate(words):
            gap = j - i
            if left == "a" and right == "b" and (gap > 0 or not ordered) and abs(gap) <= distance:
                places.update((i, j))
    return places or None


@settings(max_examples=300, deadline=None)
@given(WORDS, st.integers(min_value=1, max_value=5), st.booleans())
def test_near_means_what_the_spec_says(words: list[str], distance: int, ordered: bool) -> None:
    operator = "ONEAR" if ordered else "NEAR"
    matcher = compile_rules([RuleSpec("r", "r", f"a {operator}/{distance} b")], {})
    text = " ".join(words)  # one letter a word: word i starts at 2 * i
    found = matcher.match(Document(title="t", content=text))
    expected = _near_places(words, distance, ordered)
    if expected is None:
        assert found == []
    else:
        [match] = found
        assert {h.start // 2 for h in match.hits} == expected
        assert all(h.field == "content" for h in match.hits)
