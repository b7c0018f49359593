"""Evaluating one rule's tree on one document, given the automaton's term hits.

``Evaluation.hits(node)`` is ``None`` when the rule does not match, else its first hits
(at most ``MAX_HITS``, in field and text order) and how many it has in all. Each positive
term that made the rule true is highlighted: every matching branch of an OR, the
occurrences of NEAR's sides that lie within the distance, nothing from a NOT branch.

A term occurrence is ``(field, offset, n_words, term)``: ``offset`` indexes the leading
space of its first word in the field's folded ``" w1 w2 … "`` string, so its word position
is the number of spaces before it. Positions never run across fields. The matcher keeps at
most ``matcher.KEEP_OCCURRENCES`` occurrences per term and field and counts the rest
(``dropped``): a rule's total adds those of the terms and fields that gave it a hit, so the
work and what is stored stay bounded whatever a document repeats.

Building a hit (offsets in the original text, a snippet) costs far more than deciding a
match, so it is done once per distinct occurrence per document, however many rules share
it, only for the hits kept, and the way back to the original text is only computed for
fields that have hits. NEAR pairs sorted positions (a bisect per occurrence), never every
occurrence with every other.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping

from monitor.model import Document, Hit
from monitor.rules import query as q
from monitor.rules.fields import FoldedField
from monitor.rules.snippet import snippet_text

MAX_HITS = 100  # kept per (release, rule): the first ones; the total counts them all

_TEXT = ("title", "summary", "content")
_SCOPES = {"text": _TEXT, "title": ("title",), "summary": ("summary",), "content": ("content",)}
_ORDER = {"title": 0, "summary": 1, "content": 2, "source": 3, "url": 4, "lang": 5}

# a tuple, not ``q.Word | q.Prefix | q.Phrase``: that union is built anew on every call,
# and this runs for every node of every candidate rule of every document
_TERMS = (q.Word, q.Prefix, q.Phrase)

Occurrence = tuple[str, int, int, int]  # field, offset in the folded field, words, term id
FilterHit = tuple[str, int, int]  # field (source|url|lang), start, end in the raw value
Ref = tuple[str, Occurrence | FilterHit]  # ("term", occurrence) | ("filter", filter hit)
Place = tuple[str, int, int]  # a hit's place: field, offset or start, words or end


class Evaluation:
    """One document's term hits, and the evaluation of rule trees against them."""

    def __init__(
        self,
        doc: Document,
        fields: Mapping[str, FoldedField],
        found: Mapping[int, list[Occurrence]],
        term_ids: Mapping[q.Node, int],
        dropped: Mapping[tuple[int, str], int] | None = None,
        flat: Mapping[int, tuple[int, ...]] | None = None,
    ) -> None:
        self._doc = doc
        self._fields = fields
        self._found = found
        self._term_ids = term_ids
        self._flat = flat or {}  # id of a node that is an OR of terms -> their term ids
        self._dropped = dropped or {}  # (term, field) -> occurrences not kept
        self._hits: dict[Place, Hit] = {}
        self._positions: dict[str, dict[int, int]] = {}  # field -> offset -> position

    def hits(self, node: q.Node) -> tuple[tuple[Hit, ...], int] | None:
        """The rule's first ``MAX_HITS`` hits and its total, or None if it does not match."""
        refs = self._eval(node, _TEXT)
        if refs is None:
            return None
        if len(refs) == 1:
            return (self._hit(_place(refs[0])),), 1 + self._uncounted(refs)
        places = sorted({_place(ref) for ref in refs}, key=lambda p: (_ORDER[p[0]], p[1], p))
        kept = tuple(self._hit(place) for place in places[:MAX_HITS])
        return kept, len(places) + self._uncounted(refs)

    def _uncounted(self, refs: list[Ref]) -> int:
        """Occurrences the matcher did not keep, of the terms and fields that gave hits."""
        if not self._dropped:
            return 0
        given = {(o[3], o[0]) for o in map(_occurrence, refs) if o is not None}
        return sum(self._dropped.get(key, 0) for key in given)

    def _eval(self, node: q.Node, fields: tuple[str, ...]) -> list[Ref] | None:
        terms = self._flat.get(id(node))
        if terms is not None:  # a term, or an OR of terms: their occurrences in order
            found = self._found
            refs: list[Ref] = [
                ("term", o) for term in terms for o in found.get(term, ()) if o[0] in fields
            ]
            return refs or None
        if isinstance(node, _TERMS):
            occurrences = self._found.get(self._term_ids[node], ())
            refs = [("term", o) for o in occurrences if o[0] in fields]
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
        near: set[Ref] = set()
        for field in {o[0] for o in map(_occurrence, left) if o is not None}:
            lefts = self._placed(left, field)
            rights = self._placed(right, field)
            at = [position for position, _ in rights]
            for position, ref in lefts:
                low = position + 1 if node.ordered else position - node.distance
                window = rights[bisect_left(at, low) : bisect_right(at, position + node.distance)]
                # the same word reached through two terms is not near itself
                partners = [b for _, b in window if _place(b) != _place(ref)]
                if partners:
                    near.add(ref)
                    near.update(partners)
        return sorted(near) or None

    def _placed(self, refs: list[Ref], field: str) -> list[tuple[int, Ref]]:
        """The term refs of ``field`` with their word positions, in position order."""
        mine = sorted((o[1], ref) for ref in refs if (o := _occurrence(ref)) and o[0] == field)
        if not mine:
            return []
        known = self._positions.setdefault(field, {})
        if any(offset not in known for offset, _ in mine):
            # one pass over the field for all of them (a position is the spaces before it)
            spaced = self._fields[field].spaced
            count = last = 0
            for offset, _ in mine:
                count += spaced.count(" ", last, offset)
                known[offset] = count
                last = offset
        return [(known[offset], ref) for offset, ref in mine]

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

    def _hit(self, place: Place) -> Hit:
        hit = self._hits.get(place)
        if hit is None:
            hit = self._hits[place] = self._build_hit(place)
        return hit

    def _build_hit(self, place: Place) -> Hit:
        field = place[0]
        if field in _TEXT:
            folded = self._fields[field]
            value = folded.text
            start, end = folded.span(place[1], place[2])
        else:
            _, start, end = place
            value = getattr(self._doc, field)
        return Hit(field, value[start:end], start, end, snippet_text(value, start, end))


def _occurrence(ref: Ref) -> Occurrence | None:
    return ref[1] if ref[0] == "term" else None  # type: ignore[return-value]


def _place(ref: Ref) -> Place:
    """Where a hit is, whichever term found it: one hit per place."""
    found = ref[1]
    return (found[0], found[1], found[2])
