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
