"""The rule language's lexer: query text → tokens with 1-based columns (``query`` parses them).

Bare tokens become terms here (words, prefixes, phrases of a token's words), ``@name``
becomes its concept, ``source:``/``url:``/``lang:`` their raw values. Upper-case ``OR``,
``AND``, ``NOT``, ``NEAR/N`` and ``ONEAR/N`` are operators.

Lower-case (or mixed-case) operator words are the one place the lexer looks at its
neighbours (SPEC section 3): ``NATO or الناتو`` would otherwise be a silent AND of three
words that never matches. They are errors where an operator would make sense:

- ``or``, ``and``, ``near/N``, ``onear/N`` standing between two terms: after a word, a
  phrase, a concept, a filter or ``)``, and before any of those, ``(``, ``NOT``/``-`` or a
  field (``a or b``, ``(a) and title:b``, ``a near/5 b``);
- ``not`` before a term, wherever it stands (``not a``, ``a not b``, ``a OR not b``).

Anywhere else they are words: ``or`` alone, ``a or`` at the end, ``title:or`` (a field
takes it as its term), and every quoted form (``"or"``, ``"not guilty"``).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from monitor.errors import QuerySyntaxError
from monitor.rules.normalize import WORD_RE, normalize, tokenize
from monitor.rules.query_nodes import Concept, Filter, Node, Or, Phrase, Prefix, Word

TEXT_FIELDS = ("title", "summary", "content", "text")
FILTER_FIELDS = ("source", "url", "lang")
MIN_PREFIX_LETTERS = 3
MAX_DISTANCE = 100_000  # words; also keeps int() far from its 4,300-digit limit
_FIELD_RE = re.compile(r"([a-z]+):")
_NEAR_RE = re.compile(r"(O?NEAR)/(\S*)")
_CASED_NEAR_RE = re.compile(r"(o?near)/([0-9]+)", re.IGNORECASE)
_CONCEPT_RE = re.compile(r"@([\w-]*)")
STOP = set(' \t\r\n()"')
_OPERATOR_WORDS = {"or", "and", "not"}
# tokens after which a term has ended, and before which one begins
_ENDS_TERM = {"term", "concept", "filter", "rparen"}
_STARTS_TERM = {"term", "concept", "filter", "lparen", "not", "field"}


@dataclass(frozen=True, slots=True)
class Tok:
    kind: str  # term | lparen | rparen | or | and | not | near | field | filter | concept
    column: int  # 1-based
    node: Node | None = None
    text: str = ""
    number: int = 0
    cased: str = ""  # a term spelt like an operator in the wrong case: the operator's name


class OperatorCaseError(QuerySyntaxError):
    """A lower-case operator where an operator would make sense (SPEC section 3). Its text
    puts the column right after the word, as the SPEC words it."""

    def __init__(self, word: str, operator: str, column: int) -> None:
        case = "lower-case" if word == word.lower() else "not upper-case"
        fix = f'write {operator}, or quote it ("{word}") to search for the word'
        fix += "s" if "/" in word else ""
        super().__init__(f"'{word}' is {case}: {fix}", column)
        self.text = f"'{word}' at column {column} is {case}: {fix}"

    def __str__(self) -> str:
        return self.text


def term_from_text(entry: str) -> Node | None:
    """A concept entry or a bare token: ``prefix*``, one word, or a phrase of its words."""
    if entry.endswith("*") and len(words := tokenize(entry[:-1])) == 1:
        return Prefix(entry[:-1][words[0].start : words[0].end])
    found = tokenize(entry)
    if not found:
        return None
    raw = tuple(entry[t.start : t.end] for t in found)
    return Word(raw[0]) if len(raw) == 1 else Phrase(raw)


def lex(text: str, concepts: Mapping[str, Sequence[str]]) -> list[Tok]:
    tokens: list[Tok] = []
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        column = i + 1
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append(Tok("lparen" if char == "(" else "rparen", column))
            i += 1
        elif char == '"':
            close = text.find('"', i + 1)
            if close < 0:
                raise QuerySyntaxError("unterminated phrase: expected '\"'", column)
            node = term_from_text(text[i + 1 : close].replace("*", " "))
            if node is None:
                raise QuerySyntaxError("empty phrase", column)
            tokens.append(Tok("term", column, _as_phrase(node), text[i : close + 1]))
            i = close + 1
        elif char == "-" and i + 1 < n and not text[i + 1].isspace():
            tokens.append(Tok("not", column, text="-"))
            i += 1
        elif char == "@":
            match = _CONCEPT_RE.match(text, i)
            assert match is not None
            tokens.append(_concept(match.group(1), column, concepts))
            i = match.end()
        else:
            i = _lex_bare(text, i, tokens)
    _refuse_cased_operators(tokens)
    return tokens


def _refuse_cased_operators(tokens: list[Tok]) -> None:
    for index, tok in enumerate(tokens):
        if not tok.cased:
            continue
        before = tokens[index - 1].kind if index else None
        after = tokens[index + 1].kind if index + 1 < len(tokens) else None
        if before == "field" or after not in _STARTS_TERM:
            continue  # title:or is the word; so is a trailing "a or"
        if tok.cased == "NOT" or before in _ENDS_TERM:
            raise OperatorCaseError(tok.text, tok.cased, tok.column)


def _lex_bare(text: str, i: int, tokens: list[Tok]) -> int:
    """Lex one bare token starting at ``i``; return the index after it."""
    column = i + 1
    field = _FIELD_RE.match(text, i)
    if field is not None:
        name = field.group(1)
        after = field.end()
        if name in FILTER_FIELDS:
            value, after = _filter_value(text, after, name, column)
            tokens.append(Tok("filter", column, Filter(name, value), f"{name}:"))
            return after
        if name in TEXT_FIELDS:
            if after >= len(text) or text[after].isspace() or text[after] == ")":
                raise QuerySyntaxError(f"expected a term after '{name}:'", after + 1)
            tokens.append(Tok("field", column, text=name))
            return after
        raise QuerySyntaxError(f"unknown field '{name}'", column)
    j = i
    while j < len(text) and text[j] not in STOP:
        j += 1
    raw = text[i:j]
    if raw in ("OR", "AND", "NOT"):
        tokens.append(Tok(raw.lower(), column, text=raw))
        return j
    near = _NEAR_RE.fullmatch(raw)
    if near is not None or raw in ("NEAR", "ONEAR"):
        op = near.group(1) if near else raw
        digits = near.group(2) if near else ""
        significant = digits.lstrip("0")
        if not digits.isascii() or not digits.isdigit() or not significant:
            raise QuerySyntaxError(f"expected a distance of 1 or more after {op}/", column)
        if len(significant) > len(str(MAX_DISTANCE)) or int(significant) > MAX_DISTANCE:
            raise QuerySyntaxError(f"{op}/ takes a distance of at most {MAX_DISTANCE}", column)
        tokens.append(Tok("near", column, text=op, number=int(significant)))
        return j
    tokens.append(Tok("term", column, _bare_term(raw, column), raw, cased=_cased(raw)))
    return j


def _cased(raw: str) -> str:
    """The operator ``raw`` spells in the wrong case (``or`` → ``OR``), else ``""``."""
    if raw.lower() in _OPERATOR_WORDS:
        return raw.upper()
    near = _CASED_NEAR_RE.fullmatch(raw)
    if near is not None and not near.group(1).isupper():
        return f"{near.group(1).upper()}/{near.group(2)}"
    return ""


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
        while after < len(text) and text[after] not in STOP:
            after += 1
        value = text[i:after]
    if not value.strip():
        raise QuerySyntaxError(f"expected a value after '{name}:'", column)
    return value, after


def _concept(name: str, column: int, concepts: Mapping[str, Sequence[str]]) -> Tok:
    if not name:
        raise QuerySyntaxError("expected a concept name after '@'", column)
    entries = concepts.get(name)
    if entries is None:
        close = difflib.get_close_matches(name, list(concepts), n=1)
        hint = f"; did you mean @{close[0]}?" if close else ""
        raise QuerySyntaxError(f"unknown concept @{name}{hint}", column)
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
    return Tok("concept", column, Concept(name, body), f"@{name}")


def _as_phrase(node: Node) -> Node:
    return Phrase((node.text,)) if isinstance(node, Word) else node
