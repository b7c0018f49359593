"""Evaluating one rule's tree on one document, given the automaton's term hits.

``Evaluation.hits(node)`` is ``None`` when the rule does not match, else its hits. Each
positive term that made the rule true is highlighted: every matching branch of an OR, the
occurrences of NEAR's sides that lie within the distance, nothing from a NOT branch.

A term occurrence is ``(field, offset, n_words)``: ``offset`` indexes the leading space of
its first word in the field's folded ``" w1 w2 … "`` string, so its word position is the
number of spaces before it. Positions never run across fields.

Building a hit (offsets in the original text, a snippet) costs far more than deciding a
match, so it is done once per distinct occurrence per document, however many rules share
it, and the way back to the original text is only computed for fields that have hits.
"""

from __future__ import annotations

from collections.abc import Mapping

from monitor.model import Document, Hit
from monitor.rules import query as q
from monitor.rules.fields import FoldedField
from monitor.rules.snippet import make_snippet

_TEXT = ("title", "summary", "content")
_SCOPES = {"text": _TEXT, "title": ("title",), "summary": ("summary",), "content": ("content",)}
_ORDER = {"title": 0, "summary": 1, "content": 2, "source": 3, "url": 4, "lang": 5}

Occurrence = tuple[str, int, int]  # field, offset in the folded field, words
FilterHit = tuple[str, int, int]  # field (source|url|lang), start, end in the raw value
Ref = tuple[str, Occurrence | FilterHit]  # ("term", occurrence) | ("filter", filter hit)


class Evaluation:
    """One document's term hits, and the evaluation of rule trees against them."""

    def __init__(
        self,
        doc: Document,
        fields: Mapping[str, FoldedField],
        found: Mapping[int, list[Occurrence]],
        term_ids: Mapping[q.Node, int],
    ) -> None:
        self._doc = doc
        self._fields = fields
        self._found = found
        self._term_ids = term_ids
        self._hits: dict[Ref, Hit] = {}

    def hits(self, node: q.Node) -> tuple[Hit, ...] | None:
        refs = self._eval(node, _TEXT)
        if refs is None:
            return None
        if len(refs) == 1:
            return (self._hit(refs[0]),)
        unique = sorted(set(refs), key=lambda ref: (_ORDER[ref[1][0]], ref[1][1], ref))
        return tuple(self._hit(ref) for ref in unique)

    def _eval(self, node: q.Node, fields: tuple[str, ...]) -> list[Ref] | None:
        if isinstance(node, q.Word | q.Prefix | q.Phrase):
            occurrences = self._found.get(self._term_ids[node], ())
            refs: list[Ref] = [("term", o) for o in occurrences if o[0] in fields]
            return refs or None
        if isinstance(node, q.Concept):
            return self._eval(node.body, fields)
        if isinstance(node, q.Field):
            return self._eval(node.child, _SCOPES[node.name])
        if isinstance(node, q.Filter):
            hit = self._filter(node)
            return None if hit is None else [("filter", hit)]
        if isinstance(node, q.Not):
            return [] if self._eval(node.child, fields) is None else None
        if isinstance(node, q.And):
            collected: list[Ref] = []
            for item in node.items:
                part = self._eval(item, fields)
                if part is None:
                    return None
                collected.extend(part)
            return collected
        if isinstance(node, q.Or):
            parts = [self._eval(item, fields) for item in node.items]
            if all(part is None for part in parts):
                return None
            return [ref for part in parts if part is not None for ref in part]
        return self._near(node, fields)

    def _near(self, node: q.Near, fields: tuple[str, ...]) -> list[Ref] | None:
        left = self._eval(node.left, fields)
        right = self._eval(node.right, fields)
        if not left or not right:
            return None
        placed_left = [(ref, self._position(ref)) for ref in left if ref[0] == "term"]
        placed_right = [(ref, self._position(ref)) for ref in right if ref[0] == "term"]
        near: set[Ref] = set()
        for a, pos_a in placed_left:
            for b, pos_b in placed_right:
                if a[1][0] != b[1][0] or a == b:
                    continue
                gap = pos_b - pos_a
                if (gap > 0 or not node.ordered) and abs(gap) <= node.distance:
                    near.update((a, b))
        return sorted(near) or None

    def _position(self, ref: Ref) -> int:
        field, offset, _ = ref[1]
        return self._fields[field].position(offset)

    def _filter(self, node: q.Filter) -> FilterHit | None:
        value = node.value.casefold()
        if node.name == "source":
            source = self._doc.source
            return ("source", 0, len(source)) if source.casefold() == value else None
        if node.name == "lang":
            lang = self._doc.lang.casefold()
            ok = lang == value or lang.startswith(value + "-")
            return ("lang", 0, len(lang)) if ok else None
        url = self._doc.url
        at = url.casefold().find(value)
        if at < 0:
            return None
        if len(url.casefold()) != len(url):  # casefold changed lengths: highlight it all
            return ("url", 0, len(url))
        return ("url", at, at + len(value))

    def _hit(self, ref: Ref) -> Hit:
        hit = self._hits.get(ref)
        if hit is None:
            hit = self._hits[ref] = self._build_hit(ref)
        return hit

    def _build_hit(self, ref: Ref) -> Hit:
        if ref[0] == "filter":
            field, start, end = ref[1]
            value = getattr(self._doc, field)
        else:
            field, offset, n_words = ref[1]
            folded = self._fields[field]
            value = folded.text
            start, end = folded.span(offset, n_words)
        return Hit(field, value[start:end], start, end, make_snippet(value, start, end).text)
