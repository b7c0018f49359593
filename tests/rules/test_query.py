"""Parser: binding, terms, concepts, printing, and errors with columns."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    ('a "or" b', And((a, Phrase(("or",)), b))),  # quoted, an operator is a word
    ("or", Word("or")),  # alone, nothing to join: the word
    ("a or", And((a, Word("or")))),  # at the end: the word
    ("or a", And((Word("or"), a))),  # at the start, and/or join nothing
    ("a OR or OR b", Or((a, Word("or"), b))),  # between operators: a word
    ("title:or a", And((Field("title", Word("or")), a))),  # a field's term
    ("a not", And((a, Word("not")))),  # not before nothing
    ("a near b", And((a, Word("near"), b))),  # near without /N is a word
    ('"not guilty"', Phrase(("not", "guilty"))),
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
    ("@natto", "unknown concept @natto; did you mean @nato?", 1),
    ("a NEAR/100001 b", "NEAR/ takes a distance of at most 100000", 3),
    ("a NEAR/" + "9" * 5000 + " b", "NEAR/ takes a distance of at most 100000", 3),
    ("a NEAR/000 b", "expected a distance of 1 or more after NEAR/", 3),
    ("(" * 5000 + "a" + ")" * 5000, "nests too deeply (at most 50 levels)", 51),
    ("(" * 50 + "a" + ")" * 49, "unbalanced parenthesis: expected ')'", 101),
    ("NOT " * 60 + "a b", "nests too deeply (at most 50 levels)", 201),
    ("-" * 5000 + "a b", "nests too deeply (at most 50 levels)", 51),
    ("title:" * 60 + "a", "nests too deeply (at most 50 levels)", 301),
    ("a" + " NEAR/1 a" * 60, "nests too deeply (at most 50 levels)", 3 + 9 * 50),
    ("a " * 5001, "query is too long: 10,002 characters (at most 10,000)", 10001),
    ('a ""', "empty phrase", 3),
]


@pytest.mark.parametrize(("text", "message", "column"), ERRORS)
def test_errors(text: str, message: str, column: int) -> None:
    with pytest.raises(QuerySyntaxError) as raised:
        parse(text, CONCEPTS)
    assert (raised.value.message, raised.value.column) == (message, column)
    assert str(raised.value) == f"{message} at column {column}"


def test_nesting_up_to_the_limit_parses() -> None:
    deep = "(" * 50 + "a" + ")" * 50
    assert parse(deep) == a
    chain = "a" + " NEAR/1 a" * 50
    assert isinstance(parse(chain), Near)
    assert parse(to_string(parse(chain))) == parse(chain)


# Lower-case operators between two terms (SPEC section 3): the column is the word's, and the
# message puts it right after the word, as SPEC words it.
CASED = [
    ("NATO or الناتو", "or", "OR", 6),
    ("a and b", "and", "AND", 3),
    ("a not b", "not", "NOT", 3),
    ("not a", "not", "NOT", 1),
    ("a OR not b", "not", "NOT", 6),
    ("(a) or (b)", "or", "OR", 5),
    ("a or -b", "or", "OR", 3),
    ("a or title:b", "or", "OR", 3),
    ('"a b" or @nato', "or", "OR", 7),
    ("a near/5 b", "near/5", "NEAR/5", 3),
    ("a onear/2 b", "onear/2", "ONEAR/2", 3),
    ("a Near/5 b", "Near/5", "NEAR/5", 3),
]


@pytest.mark.parametrize(("text", "word", "operator", "column"), CASED)
def test_lower_case_operators_between_terms(
    text: str, word: str, operator: str, column: int
) -> None:
    with pytest.raises(QuerySyntaxError) as raised:
        parse(text, CONCEPTS)
    assert raised.value.column == column
    case = "lower-case" if word == word.lower() else "not upper-case"
    words = "words" if "/" in word else "word"
    assert str(raised.value) == (
        f"'{word}' at column {column} is {case}: write {operator}, "
        f'or quote it ("{word}") to search for the {words}'
    )


def test_mixed_case_says_not_upper_case() -> None:
    with pytest.raises(QuerySyntaxError) as raised:
        parse("a Or b")
    assert str(raised.value) == (
        "'Or' at column 3 is not upper-case: write OR, or quote it (\"Or\") to search for the word"
    )


# --- any text at all: a QuerySyntaxError or a tree, never anything else ------------------
# The console's rule editor parses whatever is typed: an exception of another kind would be
# a 500. Pieces of the syntax, mixed with arbitrary characters (lone surrogates included),
# repeated to any depth.

PIECES = st.sampled_from(
    [
        "(",
        ")",
        '"',
        " ",
        "OR",
        "or",
        "AND",
        "and",
        "NOT",
        "not",
        "-",
        "*",
        "@",
        "@nato",
        "@natos",
        "title:",
        "url:",
        "source:",
        "lang:",
        "foo:",
        "NEAR/",
        "NEAR/3",
        "near/3",
        "ONEAR/0",
        "NEAR/" + "9" * 40,
        "a",
        "ab",
        "cyber",
        "الناتو",
        "ال",
        "٣",
        "\u200b",
        "\ud800",
        "\x00",
        "\t",
        "\n",
        "N.A.T.O.",
        "/",
        "**",
    ]
)
ANY_CHAR = st.characters(exclude_categories=())  # surrogates and controls too
CHUNK = st.one_of(PIECES, st.text(ANY_CHAR, max_size=4))


def _only_syntax_errors(text: str, concepts: dict[str, list[str]]) -> None:
    try:
        node = parse(text, concepts)
    except QuerySyntaxError as error:
        assert 1 <= error.column <= len(text) + 1
        assert "\n" not in str(error)  # one line, in check's output too
        return
    to_string(node)  # a parsed tree always prints (no recursion past MAX_DEPTH)


@settings(max_examples=400, deadline=None)
@given(st.lists(CHUNK, max_size=60), st.integers(0, 3), st.integers(0, 6000))
def test_any_text_parses_or_raises_a_query_syntax_error(
    chunks: list[str], wrap: int, depth: int
) -> None:
    text = "".join(chunks)
    opener, closer = [("(", ")"), ("NOT ", ""), ("title:", ""), ("-", "")][wrap]
    _only_syntax_errors(text, CONCEPTS)
    _only_syntax_errors(opener * depth + text + closer * depth, CONCEPTS)


@settings(max_examples=200, deadline=None)
@given(st.text(ANY_CHAR, max_size=80), st.lists(st.text(ANY_CHAR, max_size=12), max_size=4))
def test_any_concept_entries_parse_or_raise_a_query_syntax_error(
    text: str, entries: list[str]
) -> None:
    _only_syntax_errors(f"@x {text}", {"x": entries})
    _only_syntax_errors(text, {"x": entries})
