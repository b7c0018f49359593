"""Parser: binding, terms, concepts, printing, and errors with columns."""

from __future__ import annotations

import pytest

from monitor.errors import QuerySyntaxError
from monitor.rules.query import (
    And,
    Concept,
    Field,
    Filter,
    Near,
    Node,
    Not,
    Or,
    Phrase,
    Prefix,
    Word,
    parse,
    to_string,
)

CONCEPTS = {"nato": ["NATO", "N.A.T.O.", "الناتو", "حلف شمال الأطلسي", "natos*"]}
a, b, c, d = Word("a"), Word("b"), Word("c"), Word("d")

TREES: list[tuple[str, Node]] = [
    ("a", a),
    ("a b", And((a, b))),
    ("a AND b", And((a, b))),
    ("a OR b c", Or((a, And((b, c))))),
    ("a or b", And((a, Word("or"), b))),  # lower-case operators are words
    ("NOT a b", And((Not(a), b))),
    ("a -b", And((a, Not(b)))),
    ("a-b", Phrase(("a", "b"))),  # '-' inside a token is punctuation
    ("NOT a NEAR/3 b c", And((Not(Near(a, b, 3, False)), c))),
    ("a ONEAR/2 b", Near(a, b, 2, True)),
    ("a NEAR/1 b NEAR/2 c", Near(Near(a, b, 1, False), c, 2, False)),
    ("(a OR b) c", And((Or((a, b)), c))),
    ("(a OR b) NEAR/5 c", Near(Or((a, b)), c, 5, False)),
    ("cyber*", Prefix("cyber")),
    ("سيبران*", Prefix("سيبران")),
    ('"حلف شمال الأطلسي"', Phrase(("حلف", "شمال", "الأطلسي"))),
    ('"الناتو"', Phrase(("الناتو",))),
    ("/الناتو/", Word("الناتو")),
    ("N.A.T.O.", Phrase(("N", "A", "T", "O"))),
    ("title:a", Field("title", a)),
    ("title:(a OR b)", Field("title", Or((a, b)))),
    ('content:"a b"', Field("content", Phrase(("a", "b")))),
    ("source:mofa-qa-ar a", And((Filter("source", "mofa-qa-ar"), a))),
    ('url:"/en/news" lang:ar', And((Filter("url", "/en/news"), Filter("lang", "ar")))),
    (
        "@nato",
        Concept(
            "nato",
            Or(
                (
                    Word("NATO"),
                    Phrase(("N", "A", "T", "O")),
                    Word("الناتو"),
                    Phrase(("حلف", "شمال", "الأطلسي")),
                    Prefix("natos"),
                )
            ),
        ),
    ),
]


@pytest.mark.parametrize(("text", "tree"), TREES)
def test_parse(text: str, tree: Node) -> None:
    assert parse(text, CONCEPTS) == tree
    assert parse(to_string(tree), CONCEPTS) == tree


ERRORS = [
    ("", "empty query", 1),
    ("(a OR b", "unbalanced parenthesis: expected ')'", 8),
    ("a (b c", "unbalanced parenthesis: expected ')'", 7),
    ("a) b", "unbalanced parenthesis: unexpected ')'", 2),
    ("a OR", "expected a term", 5),
    ("OR a", "expected a term before OR", 1),
    ("a AND AND b", "expected a term before AND", 7),
    ("@foo", "unknown concept @foo", 1),
    ("a @", "expected a concept name after '@'", 3),
    ("cy*", "prefix needs at least 3 letters before '*'", 1),
    ("x ال*", "prefix needs at least 3 letters before '*'", 3),
    ("a c*t", "'*' is only allowed at the end of a word", 4),
    ("foo:bar", "unknown field 'foo'", 1),
    ("a title: b", "expected a term after 'title:'", 9),
    ("url: x", "expected a value after 'url:'", 1),
    ('a "b c', "unterminated phrase: expected '\"'", 3),
    ("a NEAR/x b", "expected a distance of 1 or more after NEAR/", 3),
    ("a NEAR b", "expected a distance of 1 or more after NEAR/", 3),
    ("a NEAR/0 b", "expected a distance of 1 or more after NEAR/", 3),
    ("(a b) NEAR/2 c", "NEAR needs words, phrases or groups of them on each side", 7),
    ("NOT a", "query needs at least one positive term", 1),
    ("-a -b", "query needs at least one positive term", 1),
    ("a OR NOT b", "query needs at least one positive term", 1),
    ("a & b", "'&' contains no words", 3),
    ('a ""', "empty phrase", 3),
]


@pytest.mark.parametrize(("text", "message", "column"), ERRORS)
def test_errors(text: str, message: str, column: int) -> None:
    with pytest.raises(QuerySyntaxError) as raised:
        parse(text, CONCEPTS)
    assert (raised.value.message, raised.value.column) == (message, column)
    assert str(raised.value) == f"{message} at column {column}"
