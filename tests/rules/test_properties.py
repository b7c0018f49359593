"""Hypothesis: invisible marks never break a match; printing then parsing is the identity."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.model import Document
from monitor.rules.matcher import RuleSpec, compile_rules
from monitor.rules.normalize import tokenize, words
from monitor.rules.query import (
    And,
    Field,
    Filter,
    Near,
    Node,
    Not,
    Or,
    Phrase,
    Prefix,
    Word,
    is_positional,
    is_positive,
    parse,
    to_string,
)

RULES = [
    RuleSpec("nato", "NATO", 'NATO OR الناتو OR "حلف شمال الأطلسي"'),
    RuleSpec("cyber", "Cyber", 'cyber* OR "الأمن السيبراني" OR "الدفاع السيبراني"'),
]
MATCHER = compile_rules(RULES, {})
TEXTS = [
    "الأمين العام لحلف شمال الأطلسي في بروكسل",
    "بين دولة قطر و/الناتو/ اليوم",
    "الجرائم المرتبطة بالأمن السيبراني تشكل تهديدا",
    "Qatar and NATO discuss cybersecurity",
]
NOISE = st.sampled_from(
    [
        "\u200b",
        "\u200c",
        "\u200d",
        "\u200e",
        "\u200f",
        "\u202a",
        "\u202c",
        "\u2066",
        "\u2069",
        "\u061c",
        "\ufeff",
        "\u00ad",
        "\u0640",
        *map(chr, range(0x064B, 0x0653)),
        "\u0670",
    ]
)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(TEXTS),
    st.lists(st.tuples(st.integers(min_value=0), NOISE), max_size=12),
)
def test_inserted_marks_never_stop_a_match(text: str, inserts: list[tuple[int, str]]) -> None:
    expected = [m.rule_id for m in MATCHER.match(Document(title=text))]
    noisy = text
    for at, mark in inserts:
        position = at % (len(noisy) + 1)
        noisy = noisy[:position] + mark + noisy[position:]
    found = MATCHER.match(Document(title=noisy))
    assert [m.rule_id for m in found] == expected
    for match in found:
        for hit in match.hits:
            assert noisy[hit.start : hit.end] == hit.term


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_fast_and_offset_paths_agree(text: str) -> None:
    tokens = tokenize(text)
    assert [t.norm for t in tokens] == words(text)
    assert all(0 <= t.start < t.end <= len(text) for t in tokens)


WORD_TEXT = st.sampled_from(["nato", "NATO", "الناتو", "أمن", "cyber", "Sécurité", "٢٠١٩", "x1"])
LEAF = st.one_of(
    WORD_TEXT.map(Word),
    st.sampled_from(["cyber", "سيبران", "secur"]).map(Prefix),
    st.lists(WORD_TEXT, min_size=1, max_size=3).map(lambda w: Phrase(tuple(w))),
)
POSITIONAL = st.recursive(
    LEAF,
    lambda inner: st.one_of(
        st.builds(Near, inner, LEAF, st.integers(min_value=1, max_value=9), st.booleans()),
        st.lists(inner, min_size=2, max_size=3).map(lambda items: Or(tuple(items))),
        st.builds(Field, st.sampled_from(["title", "text"]), inner),
    ),
    max_leaves=5,
)
FILTER = st.builds(
    Filter,
    st.sampled_from(["source", "url", "lang"]),
    st.sampled_from(["mofa-qa", "ar", "/en/news", "a b"]),
)


def _tree(inner: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    return st.one_of(
        st.lists(inner, min_size=2, max_size=3).map(lambda items: And(tuple(items))),
        st.lists(inner, min_size=2, max_size=3).map(lambda items: Or(tuple(items))),
        inner.map(Not),
        st.builds(Field, st.sampled_from(["summary", "content"]), inner),
    )


TREE = st.recursive(st.one_of(POSITIONAL, FILTER), _tree, max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(TREE)
def test_print_then_parse_is_identity(tree: Node) -> None:
    if not is_positive(tree):
        return
    assert parse(to_string(tree)) == tree


def test_generated_positional_trees_are_positional() -> None:
    assert is_positional(Near(Word("a"), Word("b"), 1, False))
