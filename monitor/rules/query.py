"""The rule language (SPEC section 3): parser and printer (lexer: ``query_lex``; the tree:
``query_nodes``).

Grammar, binding tightest first NEAR, NOT, AND, OR::

    query  := or
    or     := and ("OR" and)*
    and    := unary (["AND"] unary)*
    unary  := ("NOT" | "-") unary | near
    near   := atom (("NEAR/" N | "ONEAR/" N) atom)*
    atom   := WORD | WORD"*" | '"' words '"' | "@" NAME | "(" query ")" | FIELD ":" atom

Operators are upper-case; ``-`` is NOT only at the start of a token. A bare token with
several words (``N.A.T.O.``, ``cyber-attack``) is a phrase; with one word (``/الناتو/``)
it is that word. ``source:``, ``url:`` and ``lang:`` take a raw value (bare or quoted),
not a term. ``@name`` expands to the OR of the concept's entries at parse time; the
``Concept`` node keeps the name so printing gives ``@name`` back.

Decisions the SPEC leaves open:
- A query must have a positive term: ``NOT foo`` alone is rejected ("query needs at
  least one positive term"), as is ``a OR NOT b``.
- Both sides of NEAR/ONEAR are positional: words, prefixes, phrases, concepts, fields of
  them, or parenthesised ORs of them. ``a NEAR/2 b NEAR/3 c`` chains to the left.
- Inside quotes ``*`` is punctuation; outside, it is allowed only at the end of a word.
- Lower-case operators between two terms are errors (``query_lex`` says where exactly).
- Limits, so that any text gets a ``QuerySyntaxError`` and nothing else (the console's
  rule editor parses whatever is typed): at most ``MAX_LENGTH`` characters, at most
  ``MAX_DEPTH`` levels of nesting (parentheses, NOT, fields and chained NEARs each count
  one), NEAR distances up to ``query_lex.MAX_DISTANCE``.

``parse(to_string(node), concepts) == node`` for every tree the parser produces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from monitor.errors import QuerySyntaxError
from monitor.rules.query_lex import (
    FILTER_FIELDS,
    MIN_PREFIX_LETTERS,
    STOP,
    TEXT_FIELDS,
    Tok,
    lex,
    term_from_text,
)
from monitor.rules.query_nodes import (
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
)

__all__ = [
    "FILTER_FIELDS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MIN_PREFIX_LETTERS",
    "TEXT_FIELDS",
    "And",
    "Concept",
    "Field",
    "Filter",
    "Near",
    "Node",
    "Not",
    "Or",
    "Phrase",
    "Prefix",
    "Word",
    "is_positional",
    "is_positive",
    "parse",
    "term_from_text",
    "to_string",
]

MAX_DEPTH = 50  # levels of parentheses, NOT, fields and chained NEARs
MAX_LENGTH = 10_000  # characters


def parse(text: str, concepts: Mapping[str, Sequence[str]] | None = None) -> Node:
    """Parse a query. Raises ``QuerySyntaxError`` with a 1-based column."""
    # Loading a config checks every query and compiling the matcher parses them again:
    # nodes are immutable, so the second time is a lookup.
    key = (text, tuple((name, tuple(entries)) for name, entries in (concepts or {}).items()))
    node = _parsed.get(key)
    if node is None:
        node = _parse(text, concepts or {})
        if len(_parsed) >= _PARSED_MAX:
            _parsed.clear()
        _parsed[key] = node
    return node


_PARSED_MAX = 20_000
_parsed: dict[tuple[str, tuple[tuple[str, tuple[str, ...]], ...]], Node] = {}


def _parse(text: str, concepts: Mapping[str, Sequence[str]]) -> Node:
    if len(text) > MAX_LENGTH:
        # the first problem by column: 5,000 nested parentheses nest too deeply at 51
        _refuse_deep_parentheses(text[:MAX_LENGTH])
        raise QuerySyntaxError(
            f"query is too long: {len(text):,} characters (at most {MAX_LENGTH:,})",
            MAX_LENGTH + 1,
        )
    tokens = lex(text, concepts)
    if not tokens:
        raise QuerySyntaxError("empty query", 1)
    parser = _Parser(tokens, len(text) + 1)
    node = parser.parse_or()
    if parser.pos < len(tokens):
        tok = tokens[parser.pos]
        if tok.kind == "rparen":
            raise QuerySyntaxError("unbalanced parenthesis: unexpected ')'", tok.column)
        raise QuerySyntaxError(f"unexpected {_describe(tok)}", tok.column)
    if not is_positive(node):
        raise QuerySyntaxError("query needs at least one positive term", 1)
    return node


def _refuse_deep_parentheses(text: str) -> None:
    """The parser's nesting error, for parentheses alone (quoted ones are words)."""
    depth = 0
    quoted = False
    for index, char in enumerate(text):
        if char == '"':
            quoted = not quoted
        elif not quoted and char in "()":
            depth += 1 if char == "(" else -1
            if depth > MAX_DEPTH:
                raise QuerySyntaxError(f"nests too deeply (at most {MAX_DEPTH} levels)", index + 1)


def is_positive(node: Node) -> bool:
    """Can ``node`` only be true when something is present (not merely absent)?"""
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(is_positive(item) for item in node.items)
    if isinstance(node, Or):
        return all(is_positive(item) for item in node.items)
    if isinstance(node, Field):
        return is_positive(node.child)
    return True


def is_positional(node: Node) -> bool:
    """Has ``node`` word positions (so it may stand beside NEAR)?"""
    if isinstance(node, Word | Prefix | Phrase | Near):
        return True
    if isinstance(node, Concept | Field):
        return is_positional(node.body if isinstance(node, Concept) else node.child)
    if isinstance(node, Or):
        return all(is_positional(item) for item in node.items)
    return False


def _describe(tok: Tok) -> str:
    names = {"rparen": "')'", "lparen": "'('", "or": "OR", "and": "AND", "not": "NOT"}
    return names.get(tok.kind, tok.text or tok.kind)


class _Parser:
    """Recursive descent; ``depth`` counts the levels a query nests (parentheses, NOT,
    fields, chained NEARs), so no input can exhaust Python's stack: ``MAX_DEPTH``."""

    def __init__(self, tokens: list[Tok], end_column: int) -> None:
        self.tokens = tokens
        self.pos = 0
        self.end_column = end_column
        self.depth = 0

    def peek(self) -> Tok | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> Tok:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def enter(self, tok: Tok, levels: int = 1) -> None:
        if self.depth + levels > MAX_DEPTH:
            raise QuerySyntaxError(f"nests too deeply (at most {MAX_DEPTH} levels)", tok.column)
        self.depth += levels

    def parse_or(self) -> Node:
        items = [self.parse_and()]
        while (tok := self.peek()) is not None and tok.kind == "or":
            self.take()
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def parse_and(self) -> Node:
        items = [self.parse_unary()]
        while (tok := self.peek()) is not None and tok.kind not in ("or", "rparen"):
            if tok.kind == "and":
                self.take()
            items.append(self.parse_unary())
        return items[0] if len(items) == 1 else And(tuple(items))

    def parse_unary(self) -> Node:
        tok = self.peek()
        if tok is not None and tok.kind == "not":
            self.enter(self.take())
            child = self.parse_unary()
            self.depth -= 1
            return Not(child)
        return self.parse_near()

    def parse_near(self) -> Node:
        left = self.parse_atom()
        chained = 0
        while (tok := self.peek()) is not None and tok.kind == "near":
            self.take()
            # a chain nests to the left: its printing and matching recurse as deep
            self.enter(tok)
            chained += 1
            right = self.parse_atom()
            for side in (left, right):
                if not is_positional(side):
                    raise QuerySyntaxError(
                        f"{tok.text} needs words, phrases or groups of them on each side",
                        tok.column,
                    )
            left = Near(left, right, tok.number, tok.text.startswith("O"))
        self.depth -= chained
        return left

    def parse_atom(self) -> Node:
        tok = self.peek()
        if tok is None:
            raise QuerySyntaxError("expected a term", self.end_column)
        if tok.kind in ("term", "concept", "filter"):
            self.take()
            assert tok.node is not None
            return tok.node
        if tok.kind == "lparen":
            self.enter(self.take())
            inner = self.parse_or()
            close = self.peek()
            if close is None or close.kind != "rparen":
                column = self.end_column if close is None else close.column
                raise QuerySyntaxError("unbalanced parenthesis: expected ')'", column)
            self.take()
            self.depth -= 1
            return inner
        if tok.kind == "field":
            self.enter(self.take())
            child = self.parse_atom()
            self.depth -= 1
            return Field(tok.text, child)
        if tok.kind == "rparen":
            raise QuerySyntaxError("unbalanced parenthesis: unexpected ')'", tok.column)
        raise QuerySyntaxError(f"expected a term before {_describe(tok)}", tok.column)


# -- printing -------------------------------------------------------------------------

_PRECEDENCE = {Or: 1, And: 2, Not: 3, Near: 4}


def to_string(node: Node) -> str:
    """Print ``node`` as a query that parses back to the same tree."""
    if isinstance(node, Word):
        return node.text
    if isinstance(node, Prefix):
        return f"{node.text}*"
    if isinstance(node, Phrase):
        return '"' + " ".join(node.words) + '"'
    if isinstance(node, Concept):
        return f"@{node.name}"
    if isinstance(node, Filter):
        bare = node.value and not any(c in STOP for c in node.value)
        return f"{node.name}:{node.value}" if bare else f'{node.name}:"{node.value}"'
    if isinstance(node, Field):
        return f"{node.name}:{_wrap(node.child, 5)}"
    if isinstance(node, Not):
        return f"NOT {_wrap(node.child, 3)}"
    if isinstance(node, And):
        return " AND ".join(_wrap(item, 3) for item in node.items)
    if isinstance(node, Or):
        return " OR ".join(_wrap(item, 2) for item in node.items)
    op = "ONEAR" if node.ordered else "NEAR"
    return f"{_wrap(node.left, 4)} {op}/{node.distance} {_wrap(node.right, 5)}"


def _wrap(node: Node, least: int) -> str:
    """Print ``node`` bare if it binds at least as tightly as ``least``, else in parens."""
    precedence = _PRECEDENCE.get(type(node), 5)
    text = to_string(node)
    return text if precedence >= least else f"({text})"
