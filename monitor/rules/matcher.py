"""All watch rules compiled into one immutable ``Matcher``.

How a document is matched:

1. Each text field (title, summary, content) is folded once into ``" w1 w2 … wn "``.
2. One Aho-Corasick automaton holds every term of every rule, each as its word-bounded
   patterns: ``" w "`` for a word, ``" w"`` for a prefix, ``" w1 w2 "`` for a phrase.
   An Arabic first word is added with its proclitic forms (SPEC section 3): the query
   word without its article ال, behind [و|ف]? [ب|ك|ل]? (ال)?, with ل + ال written لل.
   Later words of a phrase match as written.
3. Only rules with a term hit — plus the few that can match without one, e.g.
   ``source:x`` alone — are evaluated; the boolean and NEAR logic runs on those.
4. For a matching rule its first hits (``evaluate.MAX_HITS``) are mapped back to offsets
   in the original field text; ``RuleMatch.total`` counts them all.

Bounded by the input's size, never its content: at most ``KEEP_OCCURRENCES`` occurrences
of a term are kept per field (the rest are only counted), so a body that says "NATO" a
million times costs one pass of the automaton, not a million hits and snippets.

A ``Matcher`` never changes after ``compile_rules``; a config reload compiles a new one
and swaps the reference (one assignment, atomic in CPython).

Scopes: a rule with ``sources`` matches only documents of those sources; with
``languages`` only documents whose ``lang`` is one of them or a sub-tag (``ar`` takes
``ar-QA``); a document of unknown language is then out of scope. ``rules test`` may
pass ``ignore_scopes=True``.

Errors: ``compile_rules`` raises ``RuleError`` (a ``QuerySyntaxError``) for the first
rule that does not parse; ``check_rules`` returns all of them. ``str(error)`` is the
whole line ``rules[2].query: expected a term at column 14``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from monitor.errors import QuerySyntaxError
from monitor.model import Document, RuleMatch
from monitor.rules import query as q
from monitor.rules.evaluate import Evaluation, Occurrence
from monitor.rules.fields import FoldedField
from monitor.rules.normalize import is_arabic_letter, words

_ARTICLE = "ال"
# per term and field: what NEAR and the first hits need, and far more than a text has
# where a term is not repeated on purpose (positions past it are counted, not kept)
KEEP_OCCURRENCES = 10_000


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """What the matcher needs of a configured rule."""

    id: str
    name: str
    query: str
    sources: tuple[str, ...] = ()  # source ids; empty: every source
    languages: tuple[str, ...] = ()  # language codes; empty: every language


class RuleError(QuerySyntaxError):
    """A rule's query does not parse. ``index`` is 0-based in the rules list."""

    def __init__(self, index: int, rule_id: str, error: QuerySyntaxError) -> None:
        super().__init__(error.message, error.column)
        self.index = index
        self.rule_id = rule_id
        self.place = f"rules[{index}].query"
        self.args = (f"{self.place}: {error.message} at column {error.column}",)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    spec: RuleSpec
    node: q.Node


def folded_fields(doc: Document) -> dict[str, FoldedField]:
    """The text fields of ``doc`` that have text, folded for the automaton."""
    return {
        name: FoldedField(text)
        for name, text in (("title", doc.title), ("summary", doc.summary), ("content", doc.content))
        if text
    }


class Matcher:
    """Every rule's terms in one automaton; ``match`` gives the rules a document meets."""

    __slots__ = ("_always", "_automaton", "_by_term", "_flat", "_rules", "_term_ids")

    def __init__(
        self,
        rules: tuple[CompiledRule, ...],
        term_ids: Mapping[q.Node, int],
        by_term: tuple[tuple[int, ...], ...],
        always: tuple[int, ...],
        automaton: Any,
    ) -> None:
        self._rules = rules
        self._term_ids = term_ids
        self._by_term = by_term  # term id -> indices of the rules using it
        self._always = always  # rules that can match without any term hit
        self._automaton = automaton  # None when there are no terms
        # the rules' nodes that are a term or an OR of terms (through concepts), by id, with
        # their term ids in order: evaluated in one step, without hashing a node per term
        # (a frozen dataclass hashes its fields on every lookup)
        self._flat: dict[int, tuple[int, ...]] = {}
        for rule in rules:
            _flatten(rule.node, term_ids, self._flat)

    @property
    def rules(self) -> tuple[CompiledRule, ...]:
        return self._rules

    def match(
        self,
        doc: Document,
        *,
        ignore_scopes: bool = False,
        fields: Mapping[str, FoldedField] | None = None,
    ) -> list[RuleMatch]:
        """The rules ``doc`` matches, in configuration order, each with its hits.

        ``fields``: ``folded_fields(doc)`` when the caller has already folded them.
        """
        if fields is None:
            fields = folded_fields(doc)
        found: dict[int, list[Occurrence]] = {}
        dropped: dict[tuple[int, str], int] = {}
        if self._automaton is not None:
            for name, folded in fields.items():
                self._find(name, folded.spaced, found, dropped)
        if not found and not self._always:
            return []
        candidates = set(self._always)
        by_term = self._by_term
        for term_id in found:
            candidates.update(by_term[term_id])
        if not candidates:
            return []
        evaluation = Evaluation(doc, fields, found, self._term_ids, dropped, self._flat)
        matches = []
        for index in sorted(candidates):
            rule = self._rules[index]
            if not ignore_scopes and not _in_scope(rule.spec, doc):
                continue
            result = evaluation.hits(rule.node)
            if result is not None:
                hits, total = result
                matches.append(RuleMatch(rule.spec.id, hits, total if total > len(hits) else None))
        return matches

    def _find(
        self,
        field: str,
        spaced: str,
        found: dict[int, list[Occurrence]],
        dropped: dict[tuple[int, str], int],
    ) -> None:
        """The occurrences of every term in one field: the first ``KEEP_OCCURRENCES`` of
        each kept, the others counted in ``dropped``."""
        here: dict[int, list[Occurrence]] = {}
        extra: dict[int, int] = {}
        for end, (length, term_ids, n_words) in self._automaton.iter(spaced):
            for term_id in term_ids:
                kept = here.get(term_id)
                if kept is None:
                    here[term_id] = [(field, end - length + 1, n_words, term_id)]
                elif len(kept) < KEEP_OCCURRENCES:
                    kept.append((field, end - length + 1, n_words, term_id))
                else:
                    extra[term_id] = extra.get(term_id, 0) + 1
        for term_id, kept in here.items():
            found.setdefault(term_id, []).extend(kept)
        dropped.update(((term_id, field), n) for term_id, n in extra.items())


def check_rules(
    rules: Sequence[RuleSpec], concepts: Mapping[str, Sequence[str]]
) -> list[RuleError]:
    """Every rule whose query does not parse, as ``RuleError``s."""
    errors = []
    for index, spec in enumerate(rules):
        try:
            q.parse(spec.query, concepts)
        except QuerySyntaxError as error:
            errors.append(RuleError(index, spec.id, error))
    return errors


def compile_rules(rules: Sequence[RuleSpec], concepts: Mapping[str, Sequence[str]]) -> Matcher:
    """Parse and compile ``rules``. Raises ``RuleError`` for the first that does not parse."""
    import ahocorasick

    compiled: list[CompiledRule] = []
    for index, spec in enumerate(rules):
        try:
            compiled.append(CompiledRule(spec, q.parse(spec.query, concepts)))
        except QuerySyntaxError as error:
            raise RuleError(index, spec.id, error) from error
    term_ids: dict[q.Node, int] = {}
    key_ids: dict[tuple[str, tuple[str, ...]], int] = {}
    users: list[set[int]] = []
    patterns: dict[str, set[int]] = {}
    n_words: dict[int, int] = {}
    always = []
    for index, rule in enumerate(compiled):
        if _can_match_without_terms(rule.node):
            always.append(index)
        for leaf in _leaves(rule.node):
            key = term_key(leaf)
            if key not in key_ids:
                term_id = key_ids[key] = len(users)
                users.append(set())
                n_words[term_id] = len(key[1])
                for pattern in _patterns(*key):
                    patterns.setdefault(pattern, set()).add(term_id)
            term_ids[leaf] = key_ids[key]
            users[key_ids[key]].add(index)
    automaton = None
    if patterns:
        automaton = ahocorasick.Automaton()
        for pattern, ids in patterns.items():
            ordered = tuple(sorted(ids))
            automaton.add_word(pattern, (len(pattern), ordered, n_words[ordered[0]]))
        automaton.make_automaton()
    by_term = tuple(tuple(sorted(u)) for u in users)
    return Matcher(tuple(compiled), term_ids, by_term, tuple(always), automaton)


def _flatten(
    node: q.Node, term_ids: Mapping[q.Node, int], flat: dict[int, tuple[int, ...]]
) -> tuple[int, ...] | None:
    """The term ids of ``node`` in the order an OR reads them when it is a term, or an OR
    (or concept) of such nodes, else None; every such node found is recorded in ``flat``
    (the rule's nodes live as long as the matcher, so their ids stay theirs)."""
    terms: tuple[int, ...] | None = None
    if isinstance(node, q.Word | q.Prefix | q.Phrase):
        terms = (term_ids[node],)
    elif isinstance(node, q.Concept):
        terms = _flatten(node.body, term_ids, flat)
    elif isinstance(node, q.Or):
        parts = [_flatten(item, term_ids, flat) for item in node.items]
        if all(part is not None for part in parts):
            terms = tuple(term for part in parts if part is not None for term in part)
    else:
        for child in _children(node):
            _flatten(child, term_ids, flat)
    if terms is not None:
        flat[id(node)] = terms
    return terms


def _children(node: q.Node) -> tuple[q.Node, ...]:
    if isinstance(node, q.Field | q.Not):
        return (node.child,)
    if isinstance(node, q.And):
        return node.items
    if isinstance(node, q.Near):
        return (node.left, node.right)
    return ()


def _in_scope(spec: RuleSpec, doc: Document) -> bool:
    if spec.sources and doc.source not in spec.sources:
        return False
    if spec.languages:
        lang = doc.lang.casefold()
        return any(
            lang == c.casefold() or lang.startswith(c.casefold() + "-") for c in spec.languages
        )
    return True


def _leaves(node: q.Node) -> list[q.Node]:
    if isinstance(node, q.Word | q.Prefix | q.Phrase):
        return [node]
    if isinstance(node, q.Concept):
        return _leaves(node.body)
    if isinstance(node, q.Field | q.Not):
        return _leaves(node.child)
    if isinstance(node, q.And | q.Or):
        return [leaf for item in node.items for leaf in _leaves(item)]
    if isinstance(node, q.Near):
        return _leaves(node.left) + _leaves(node.right)
    return []


def _can_match_without_terms(node: q.Node) -> bool:
    if isinstance(node, q.Filter | q.Not):
        return True
    if isinstance(node, q.Concept):
        return _can_match_without_terms(node.body)
    if isinstance(node, q.Field):
        return _can_match_without_terms(node.child)
    if isinstance(node, q.And):
        return all(_can_match_without_terms(item) for item in node.items)
    if isinstance(node, q.Or):
        return any(_can_match_without_terms(item) for item in node.items)
    return False


def term_key(leaf: q.Node) -> tuple[str, tuple[str, ...]]:
    """``("word"|"prefix"|"phrase", folded words)``; an Arabic first word loses its article."""
    if isinstance(leaf, q.Prefix):
        kind, found = "prefix", words(leaf.text)
    elif isinstance(leaf, q.Word):
        found = words(leaf.text)
        kind = "word" if len(found) == 1 else "phrase"
    else:
        assert isinstance(leaf, q.Phrase)
        found = [w for raw in leaf.words for w in words(raw)]
        kind = "phrase" if len(found) > 1 else "word"
    if not found or (kind == "prefix" and len(found) != 1):
        raise QuerySyntaxError(f"cannot match {q.to_string(leaf)!r}", 1)
    first = found[0]
    if first.startswith(_ARTICLE) and len(first) >= len(_ARTICLE) + 2:
        first = first[len(_ARTICLE) :]
    return kind, (first, *found[1:])


def proclitic_forms(word: str) -> list[str]:
    """The forms an Arabic ``word`` (article already dropped) takes behind proclitics."""
    if not is_arabic_letter(word[0]):
        return [word]
    forms = []
    for conjunction in ("", "و", "ف"):
        for preposition in ("", "ب", "ك", "ل"):
            for article in ("", _ARTICLE):
                lead = "لل" if preposition == "ل" and article else preposition + article
                forms.append(conjunction + lead + word)
    return forms


def _patterns(kind: str, folded: tuple[str, ...]) -> list[str]:
    rest = "".join(" " + w for w in folded[1:])
    tail = "" if kind == "prefix" else " "
    return [" " + form + rest + tail for form in proclitic_forms(folded[0])]
