"""``prepare`` folds each field once for the index, the story signature and the rules:
what it gives must equal the one-purpose functions on every corpus feed. An item it cannot
prepare is dropped with its reason; the index keeps a bounded number of words."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.errors import ParseError
from monitor.model import Document, DumpedMatch, RuleMatch, document_of
from monitor.parse.prepare import (
    MAX_INDEX_CHARS,
    Recipe,
    index_words,
    prepare,
    search_text,
    story_bands,
)
from monitor.rules.matcher import RuleSpec, compile_rules
from monitor.rules.normalize import index_text
from tests.conftest import FEEDS_DIR, SEED_RELEASE
from tests.parse.test_corpus import corpus_files

MOMENT = datetime(2026, 11, 29, tzinfo=UTC)
FEEDS = sorted(Path(path) for path, _ in corpus_files())
RULES = compile_rules(
    [
        RuleSpec("nato", "NATO", "NATO OR الناتو OR حلف"),
        RuleSpec("cyber", "Cyber", 'cyber* OR "الدفاع السيبراني"'),
        RuleSpec("the", "Common", "the NEAR/3 of"),
    ],
    {},
)


def _check(body: bytes, url: str) -> int:
    recipe = Recipe("feed", "src", "auto", None, "UTC")
    try:
        got = prepare(body, {}, url, recipe, MOMENT, ("k", RULES))
    except ParseError:  # not a feed (the corpus holds some on purpose)
        return 0
    assert got.matches is not None and got.rules_key == "k"
    for i, release in enumerate(got.releases):
        assert got.search_text[i] == search_text(release)
        # every word of the text, each once: the index answers "is this word there"
        words = got.search_text[i].split()
        assert len(words) == len(set(words))
        assert set(words) == set(
            index_text(f"{release.title}\n{release.summary}\n{release.content}").split()
        )
        assert got.bands[i] == story_bands(release)
        expected = RULES.match(document_of("src", release))
        assert list(got.matches[i]) == [DumpedMatch.of(m) for m in expected]
    return len(got.releases)


@pytest.mark.corpus
@pytest.mark.parametrize("path", FEEDS, ids=lambda p: str(p.relative_to(FEEDS_DIR)))
def test_folded_once_equals_folded_for_each_purpose(path: Path) -> None:
    _check(path.read_bytes(), "https://example.org/feed")


def test_the_seed_release_in_a_feed() -> None:
    text = SEED_RELEASE.read_text(encoding="utf-8")
    title, _, content = text.partition("\n")
    body = (
        "<rss version='2.0'><channel><title>MOFA</title><item><title>"
        f"{title}</title><guid>1</guid><description><![CDATA[<p>{content[:300]}</p>]]>"
        f"</description><content:encoded xmlns:content='http://purl.org/rss/1.0/modules/"
        f"content/'><![CDATA[<p>{content}</p>]]></content:encoded></item></channel></rss>"
    ).encode()
    assert _check(body, "https://www.mofa.gov.qa/rss") == 1
    got = prepare(body, {}, "u", Recipe("feed", "src", "auto", None, "UTC"), MOMENT, ("k", RULES))
    assert got.matches is not None and {m.rule_id for m in got.matches[0]} >= {"nato", "cyber"}
    assert got.bands[0] is not None  # long enough to carry a story signature


class _Refusing:
    """A matcher that fails on one document, as a bug on one odd item would."""

    def match(self, document: Document, fields: object = None) -> list[RuleMatch]:
        if "poison" in document.title:
            raise RecursionError("maximum recursion depth exceeded")
        return RULES.match(document)


def test_an_item_that_cannot_be_prepared_is_dropped_with_its_reason() -> None:
    items = "".join(
        f"<item><title>{title}</title><link>https://m.example/{n}</link></item>"
        for n, title in enumerate(["NATO one", "the poison one", "NATO three"])
    )
    body = f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>".encode()
    recipe = Recipe("feed", "src", "auto", None, "UTC")
    got = prepare(body, {}, "u", recipe, MOMENT, ("k", _Refusing()))
    assert got.entries == 3
    assert [r.title for r in got.releases] == ["NATO one", "NATO three"]
    assert got.matches is not None and len(got.matches) == len(got.search_text) == 2
    [dropped] = got.dropped
    assert dropped.where == "https://m.example/1"
    assert dropped.reason == "not prepared: RecursionError: maximum recursion depth exceeded"


def test_the_index_keeps_a_bounded_number_of_distinct_words() -> None:
    words = [f"w{i:06d}" for i in range(50_000)]  # 350,000 characters, all distinct
    kept = index_words(" ".join(words + words)).split()
    assert len(" ".join(kept)) <= MAX_INDEX_CHARS
    assert kept == words[: len(kept)] and len(kept) == MAX_INDEX_CHARS // 8
