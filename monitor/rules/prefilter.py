"""What any match of a query needs to find in the full-text index: the archive's pre-filter.

``requirement(node)`` derives, from a parsed query, a condition on the words of a release
that every release the matcher would accept meets — a necessary, never a sufficient one:
the index only narrows the candidates, the matcher decides on them.

- A word needs one of its forms as a whole word: an Arabic word behind its proclitics,
  ``[و|ف]?[ب|ك|ل]?(ال)?w``, exactly the forms the matcher's automaton holds.
- A prefix ``w*`` needs a word starting with one of those forms.
- A phrase needs all its words (first word with its proclitic forms); adjacency is left
  to the matcher, so the condition stays the same on both databases.
- AND and NEAR need what each of their parts needs (all of it: sound, since a match
  makes every part true, and more selective than any one part).
- OR needs one of its parts' needs, and nothing at all if any part needs nothing.
- NOT, ``source:``, ``url:`` and ``lang:`` need nothing from the text.

``None`` means no condition: search everything. Rendering quotes every word, so a query
can never smuggle index syntax (``"``, ``*``, ``NEAR``, ``:``) into the index query; the
words are folded words (letters and digits) in any case.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.rules import query as q
from monitor.rules.matcher import proclitic_forms, term_key


@dataclass(frozen=True, slots=True)
class Token:
    """One folded word of the index; ``prefix``: any word starting with it."""

    text: str
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class AnyOf:
    items: tuple[Requirement, ...]


@dataclass(frozen=True, slots=True)
class AllOf:
    items: tuple[Requirement, ...]


Requirement = Token | AnyOf | AllOf


def requirement(node: q.Node) -> Requirement | None:
    """What every text ``node`` matches contains, or ``None`` if it can match without text."""
    if isinstance(node, q.Word | q.Prefix | q.Phrase):
        return _term(node)
    if isinstance(node, q.Concept):
        return requirement(node.body)
    if isinstance(node, q.Field):
        return requirement(node.child)
    if isinstance(node, q.Filter | q.Not):
        return None
    if isinstance(node, q.Or):
        parts = [requirement(item) for item in node.items]
        if any(part is None for part in parts):
            return None
        return _combine(AnyOf, [p for p in parts if p is not None])
    items = node.items if isinstance(node, q.And) else (node.left, node.right)
    needed = [part for item in items if (part := requirement(item)) is not None]
    return _combine(AllOf, needed) if needed else None


def to_fts5(need: Requirement) -> str:
    """An SQLite FTS5 MATCH expression: ``("a" OR "b"*) AND "c"``."""
    if isinstance(need, Token):
        quoted = '"' + need.text.replace('"', '""') + '"'
        return quoted + "*" if need.prefix else quoted
    joiner = " OR " if isinstance(need, AnyOf) else " AND "
    return "(" + joiner.join(to_fts5(item) for item in need.items) + ")"


def to_tsquery(need: Requirement) -> str:
    """A PostgreSQL ``to_tsquery`` text: ``('a' | 'b':*) & 'c'``."""
    if isinstance(need, Token):
        quoted = "'" + need.text.replace("\\", "\\\\").replace("'", "''") + "'"
        return quoted + ":*" if need.prefix else quoted
    joiner = " | " if isinstance(need, AnyOf) else " & "
    return "(" + joiner.join(to_tsquery(item) for item in need.items) + ")"


def _term(leaf: q.Node) -> Requirement:
    kind, folded = term_key(leaf)
    prefix = kind == "prefix"
    first = _combine(AnyOf, [Token(form, prefix) for form in proclitic_forms(folded[0])])
    return _combine(AllOf, [first, *(Token(word) for word in folded[1:])])


def _combine(kind: type[AnyOf] | type[AllOf], parts: list[Requirement]) -> Requirement:
    """``kind`` of the distinct ``parts``, nested ones of the same kind flattened."""
    flat: list[Requirement] = []
    for part in parts:
        flat.extend(part.items if isinstance(part, kind) else (part,))
    unique = tuple(dict.fromkeys(flat))
    return unique[0] if len(unique) == 1 else kind(unique)
