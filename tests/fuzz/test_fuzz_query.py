"""Fuzz: the rule language's parser, on mutations of real rules and on free text.

Contract: for any text, ``rules.query.parse`` returns a query ``Node`` or raises
``QuerySyntaxError`` whose column lies within the text (1-based, at most one past its
end); nothing else, within a deadline. A query that parses compiles into a matcher, which
matches a document without raising.

Known (issue 22 item 5, another engineer's): deep nesting — thousands of parentheses —
raises ``RecursionError``. The random search keeps nesting under 50 levels (the limit the
fix is to set) and ``test_deep_nesting_is_a_syntax_error`` holds the case.
"""

from __future__ import annotations

import sys

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from monitor.errors import QuerySyntaxError
from monitor.model import Document
from monitor.rules.matcher import RuleSpec, compile_rules
from monitor.rules.query import Node, parse
from tests.fuzz.mutate import mutated, run, seeds

QUERIES = [q for seed in seeds("query") for q in seed.decode().splitlines() if q.strip()]
CONCEPTS = {"nato": ["NATO", "OTAN", "N.A.T.O.", "الناتو", "حلف شمال الأطلسي"]}
TOKENS = [
    "(",
    ")",
    " OR ",
    " AND ",
    " NOT ",
    " -",
    '"',
    " NEAR/3 ",
    " ONEAR/0 ",
    "NEAR/",
    "*",
    "@nato",
    "@missing",
    "title:",
    "url:",
    "lang:",
    "source:",
    "text:",
    "bogus:",
    " or ",
    " and ",
    "near/2",
    "الناتو",
    "والناتو",
    "ـ",
    "\u064e",
    "\u200f",
    "\u202e",
    "\x00",
    "\ud800",
    "N.A.T.O.",
    "cyber-attack",
    "ab*",
    "x" * 300,
    "،",
    "؟",
    " ",
]


def nesting(text: str) -> int:
    depth = deepest = 0
    for char in text:
        depth += char == "("
        depth -= char == ")" and depth > 0
        deepest = max(deepest, depth)
    return deepest


QUERY_TEXT = st.one_of(
    mutated([q.encode() for q in QUERIES]).map(lambda b: b.decode("utf-8", "replace")),
    st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=8)), max_size=24).map("".join),
    st.text(max_size=200),
)


@run(deadline=3.0)
@given(text=QUERY_TEXT)
def test_parse_returns_a_query_or_a_syntax_error(text: str) -> None:
    assume(nesting(text) <= 50)  # deeper: the known bug above
    try:
        node = parse(text, CONCEPTS)
    except QuerySyntaxError as exc:
        assert 1 <= exc.column <= len(text) + 1, (exc.column, len(text))
        assert exc.message and "\n" not in str(exc)
        return
    assert isinstance(node, Node)


@run(deadline=5.0)
@given(text=QUERY_TEXT, title=st.text(max_size=60), body=st.text(max_size=200))
def test_a_query_that_parses_compiles_and_matches(text: str, title: str, body: str) -> None:
    assume(nesting(text) <= 50)
    try:
        parse(text, CONCEPTS)
    except QuerySyntaxError:
        return
    matcher = compile_rules([RuleSpec("r", "r", text, (), ())], CONCEPTS)
    matcher.match(Document(title=title, summary="", content=body, source="s", url="", lang=""))


def test_deep_nesting_is_a_syntax_error() -> None:
    depth = sys.getrecursionlimit() * 5
    with pytest.raises(QuerySyntaxError):
        parse("(" * depth + "NATO" + ")" * depth)
