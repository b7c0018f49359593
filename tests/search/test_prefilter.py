"""The pre-filter's requirement per operator, and index queries that quote every word."""

from __future__ import annotations

import pytest

from monitor.rules.prefilter import AllOf, AnyOf, Token, requirement, to_fts5, to_tsquery
from monitor.rules.query import parse

CONCEPTS = {"nato": ["NATO", "OTAN"], "any": ["x", "y"]}


def _words(need: object) -> set[str]:
    if isinstance(need, Token):
        return {need.text + ("*" if need.prefix else "")}
    assert isinstance(need, AnyOf | AllOf)
    return {w for item in need.items for w in _words(item)}


CASES = [
    # query, requirement (None: no pre-filter)
    ("NATO", Token("nato")),
    ("cyber*", Token("cyber", prefix=True)),
    ("NATO cyber", AllOf((Token("nato"), Token("cyber")))),
    ("NATO OR cyber", AnyOf((Token("nato"), Token("cyber")))),
    ("NATO -cyber", Token("nato")),
    ("NATO OR source:x", None),
    ("lang:ar", None),
    ("source:x NATO", Token("nato")),
    ("title:NATO OR url:/en/", None),
    ('"cyber attack"', AllOf((Token("cyber"), Token("attack")))),
    ("a NEAR/3 b", AllOf((Token("a"), Token("b")))),
    ("@nato", AnyOf((Token("nato"), Token("otan")))),
    ("(NATO OR OTAN) OR nato", AnyOf((Token("nato"), Token("otan")))),
    ("(a b) OR c", AnyOf((AllOf((Token("a"), Token("b"))), Token("c")))),
]


@pytest.mark.parametrize(("query", "expected"), CASES)
def test_requirement(query: str, expected: object) -> None:
    assert requirement(parse(query, CONCEPTS)) == expected


def test_arabic_word_needs_one_of_its_proclitic_forms() -> None:
    need = requirement(parse("الناتو"))
    assert isinstance(need, AnyOf)
    forms = _words(need)
    assert {"ناتو", "الناتو", "والناتو", "بالناتو", "للناتو", "وللناتو", "فالناتو"} <= forms
    assert "لالناتو" not in forms and len(forms) == 24


def test_arabic_phrase_needs_first_word_forms_and_later_words_as_written() -> None:
    need = requirement(parse('"حلف شمال الأطلسي"'))
    assert isinstance(need, AllOf)
    first, *rest = need.items
    assert "لحلف" in _words(first)
    assert rest == [Token("شمال"), Token("الاطلسي")]


RENDER = [
    (Token("nato"), '"nato"', "'nato'"),
    (Token("cyb", prefix=True), '"cyb"*', "'cyb':*"),
    (Token('a"b*NEAR'), '"a""b*NEAR"', "'a\"b*NEAR'"),
    (Token("it's\\"), '"it\'s\\"', "'it''s\\\\'"),
    (
        AllOf((AnyOf((Token("a"), Token("b"))), Token("c"))),
        '(("a" OR "b") AND "c")',
        "(('a' | 'b') & 'c')",
    ),
]


@pytest.mark.parametrize(("need", "fts5", "tsquery"), RENDER)
def test_rendering_quotes_every_word(need: object, fts5: str, tsquery: str) -> None:
    assert to_fts5(need) == fts5  # type: ignore[arg-type]
    assert to_tsquery(need) == tsquery  # type: ignore[arg-type]
