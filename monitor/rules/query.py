"""The rule language (SPEC section 3): lexer, parser and printer (the tree: ``query_nodes``).

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

``parse(to_string(node), concepts) == node`` for every tree the parser produces.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from monitor.errors import QuerySyntaxError
from monitor.rules.normalize import WORD_RE, normalize, tokenize
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

TEXT_FIELDS = ("title", "summary", "content", "text")
FILTER_FIELDS = ("source", "url", "lang")
MIN_PREFIX_LETTERS = 3
_FIELD_RE = re.compile(r"([a-z]+):")
_NEAR_RE = re.compile(r"(O?NEAR)/(\S*)")
_CONCEPT_RE = re.compile(r"@([\w-]*)")
_STOP = set(' \t\r\n()"')


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # term | lparen | rparen | or | and | not | near | field | filter | concept
    column: int  # 1-based
    node: Node | None = None
    text: str = ""
    number: int = 0


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
    tokens = _lex(text, concepts)
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


def term_from_text(entry: str) -> Node | None:
    """A concept entry or a bare token: ``prefix*``, one word, or a phrase of its words."""
    if entry.endswith("*") and len(words := tokenize(entry[:-1])) == 1:
        return Prefix(entry[:-1][words[0].start : words[0].end])
    found = tokenize(entry)
    if not found:
        return None
    raw = tuple(entry[t.start : t.end] for t in found)
    return Word(raw[0]) if len(raw) == 1 else Phrase(raw)


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


def _describe(tok: _Tok) -> str:
    names = {"rparen": "')'", "lparen": "'('", "or": "OR", "and": "AND", "not": "NOT"}
    return names.get(tok.kind, tok.text or tok.kind)


class _Parser:
    def __init__(self, tokens: list[_Tok], end_column: int) -> None:
        self.tokens = tokens
        self.pos = 0
        self.end_column = end_column

    def peek(self) -> _Tok | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> _Tok:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

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
            self.take()
            return Not(self.parse_unary())
        return self.parse_near()

    def parse_near(self) -> Node:
        left = self.parse_atom()
        while (tok := self.peek()) is not None and tok.kind == "near":
            self.take()
            right = self.parse_atom()
            for side in (left, right):
                if not is_positional(side):
                    raise QuerySyntaxError(
                        f"{tok.text} needs words, phrases or groups of them on each side",
                        tok.column,
                    )
            left = Near(left, right, tok.number, tok.text.startswith("O"))
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
            self.take()
            inner = self.parse_or()
            close = self.peek()
            if close is None or close.kind != "rparen":
                column = self.end_column if close is None else close.column
                raise QuerySyntaxError("unbalanced parenthesis: expected ')'", column)
            self.take()
            return inner
        if tok.kind == "field":
            self.take()
            return Field(tok.text, self.parse_atom())
        if tok.kind == "rparen":
            raise QuerySyntaxError("unbalanced parenthesis: unexpected ')'", tok.column)
        raise QuerySyntaxError(f"expected a term before {_describe(tok)}", tok.column)


def _lex(text: str, concepts: Mapping[str, Sequence[str]]) -> list[_Tok]:
    tokens: list[_Tok] = []
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        column = i + 1
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append(_Tok("lparen" if char == "(" else "rparen", column))
            i += 1
        elif char == '"':
            close = text.find('"', i + 1)
            if close < 0:
                raise QuerySyntaxError("unterminated phrase: expected '\"'", column)
            node = term_from_text(text[i + 1 : close].replace("*", " "))
            if node is None:
                raise QuerySyntaxError("empty phrase", column)
            tokens.append(_Tok("term", column, _as_phrase(node), text[i : close + 1]))
            i = close + 1
        elif char == "-" and i + 1 < n and not text[i + 1].isspace():
            tokens.append(_Tok("not", column, text="-"))
            i += 1
        elif char == "@":
            match = _CONCEPT_RE.match(text, i)
            assert match is not None
            tokens.append(_concept(match.group(1), column, concepts))
            i = match.end()
        else:
            i = _lex_bare(text, i, tokens)
    return tokens


def _lex_bare(text: str, i: int, tokens: list[_Tok]) -> int:
    """Lex one bare token starting at ``i``; return the index after it."""
    column = i + 1
    field = _FIELD_RE.match(text, i)
    if field is not None:
        name = field.group(1)
        after = field.end()
        if name in FILTER_FIELDS:
            value, after = _filter_value(text, after, name, column)
            tokens.append(_Tok("filter", column, Filter(name, value), f"{name}:"))
            return after
        if name in TEXT_FIELDS:
            if after >= len(text) or text[after].isspace() or text[after] == ")":
                raise QuerySyntaxError(f"expected a term after '{name}:'", after + 1)
            tokens.append(_Tok("field", column, text=name))
            return after
        raise QuerySyntaxError(f"unknown field '{name}'", column)
    j = i
    while j < len(text) and text[j] not in _STOP:
        j += 1
    raw = text[i:j]
    if raw in ("OR", "AND", "NOT"):
        tokens.append(_Tok(raw.lower(), column, text=raw))
        return j
    near = _NEAR_RE.fullmatch(raw)
    if near is not None or raw in ("NEAR", "ONEAR"):
        op = near.group(1) if near else raw
        digits = near.group(2) if near else ""
        if not digits.isascii() or not digits.isdigit() or int(digits) < 1:
            raise QuerySyntaxError(f"expected a distance of 1 or more after {op}/", column)
        tokens.append(_Tok("near", column, text=op, number=int(digits)))
        return j
    tokens.append(_Tok("term", column, _bare_term(raw, column), raw))
    return j


def _bare_term(raw: str, column: int) -> Node:
    star = raw.find("*")
    if star >= 0 and star != len(raw) - 1:
        raise QuerySyntaxError("'*' is only allowed at the end of a word", column + star)
    if star >= 0:
        stem = raw[:-1]
        letters = sum(len(w) for w in WORD_RE.findall(normalize(stem)))
        if len(tokenize(stem)) > 1:
            raise QuerySyntaxError("a prefix must be a single word before '*'", column)
        if letters < MIN_PREFIX_LETTERS:
            raise QuerySyntaxError(
                f"prefix needs at least {MIN_PREFIX_LETTERS} letters before '*'", column
            )
    node = term_from_text(raw)
    if node is None:
        raise QuerySyntaxError(f"'{raw}' contains no words", column)
    return node


def _filter_value(text: str, i: int, name: str, column: int) -> tuple[str, int]:
    if i < len(text) and text[i] == '"':
        close = text.find('"', i + 1)
        if close < 0:
            raise QuerySyntaxError("unterminated value: expected '\"'", i + 1)
        value, after = text[i + 1 : close], close + 1
    else:
        after = i
        while after < len(text) and text[after] not in _STOP:
            after += 1
        value = text[i:after]
    if not value.strip():
        raise QuerySyntaxError(f"expected a value after '{name}:'", column)
    return value, after


def _concept(name: str, column: int, concepts: Mapping[str, Sequence[str]]) -> _Tok:
    if not name:
        raise QuerySyntaxError("expected a concept name after '@'", column)
    entries = concepts.get(name)
    if entries is None:
        raise QuerySyntaxError(f"unknown concept @{name}", column)
    items: list[Node] = []
    for index, entry in enumerate(entries):
        node = term_from_text(str(entry))
        if node is None:
            raise QuerySyntaxError(f"concept @{name}: entry {index} has no words", column)
        if isinstance(node, Prefix) and len(normalize(node.text)) < MIN_PREFIX_LETTERS:
            raise QuerySyntaxError(
                f"concept @{name}: prefix needs at least {MIN_PREFIX_LETTERS} letters", column
            )
        items.append(node)
    if not items:
        raise QuerySyntaxError(f"concept @{name} is empty", column)
    body = items[0] if len(items) == 1 else Or(tuple(items))
    return _Tok("concept", column, Concept(name, body), f"@{name}")


def _as_phrase(node: Node) -> Node:
    return Phrase((node.text,)) if isinstance(node, Word) else node


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
        bare = node.value and not any(c in _STOP for c in node.value)
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
