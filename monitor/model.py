"""Plain values that flow between pipeline stages (no I/O, no database rows).

``Entry``      one item as a parser saw it (feed item or listing-page item), before identity.
``ParsedFeed`` what a parser made of one fetched body.
``Document``   what the rules match: plain text per field plus the scoping fields.
``Hit``        one matched term: field, the text as it appears, offsets into that field, snippet.
``RuleMatch``  one rule that matched one document, with its first hits and their count.
``ReleaseData`` a release ready to store (``parse.identity`` decides its identity).
``Skipped``    an item left out of a poll (not prepared, or not stored), and why.
``DumpedMatch`` a ``RuleMatch`` with its hits as the store keeps them (JSON), as a parse
               worker sends it on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from monitor.storable import storable


@dataclass(frozen=True, slots=True)
class Entry:
    """One published item, as the parser read it. Text fields hold HTML where ``markup``
    says so (its format's rule); the others are text already, never to be read as HTML."""

    guid: str | None
    link: str | None
    title: str
    summary: str = ""  # raw: may hold HTML
    content: str = ""  # raw: may hold HTML
    published: datetime | None = None  # timezone-aware when known
    published_raw: str | None = None  # the date string as published, for warnings
    language: str | None = None
    author: str | None = None
    markup: frozenset[str] = frozenset({"summary", "content"})  # of title, summary, content


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A parsed feed or listing page. ``warnings`` are shown as the source's last_warning."""

    kind: str  # e.g. "rss20", "atom10", "json1", "html"
    entries: tuple[Entry, ...]
    title: str | None = None
    language: str | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Document:
    """The text a rule is matched against. Fields are plain text (no markup)."""

    title: str
    summary: str = ""
    content: str = ""
    source: str = ""
    url: str = ""
    lang: str = ""


class Texts(Protocol):
    """What a release has that rules see: a stored row, a parsed release."""

    @property
    def title(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def content(self) -> str: ...
    @property
    def url(self) -> str | None: ...
    @property
    def language(self) -> str | None: ...


def document_of(source_id: str, release: Texts) -> Document:
    """The document rules see for a release of ``source_id``. The one mapping: a parse
    worker's matches are looked up by the document the stored row gives."""
    return Document(
        title=release.title,
        summary=release.summary,
        content=release.content,
        source=source_id,
        url=release.url or "",
        lang=release.language or "",
    )


@dataclass(frozen=True, slots=True)
class Hit:
    """One matched term. ``start``/``end`` index the original (un-normalised) field text."""

    field: str  # title | summary | content | source | url | lang
    term: str  # the text as it appears in the document
    start: int
    end: int
    snippet: str  # about 200 characters around the hit, whitespace collapsed


@dataclass(frozen=True, slots=True)
class RuleMatch:
    rule_id: str
    hits: tuple[Hit, ...] = field(default=())  # the first ones (the matcher keeps 100)
    total: int | None = None  # every hit found, when more than ``hits``; None: len(hits)

    @property
    def hit_count(self) -> int:
        return len(self.hits) if self.total is None else self.total


@dataclass(frozen=True, slots=True)
class ReleaseData:
    """A release ready to store: identity decided, text plain, URL canonical."""

    identity: str  # unique per source; see the module doc
    title: str  # plain text
    summary: str  # plain text
    content: str  # plain text
    summary_raw: str  # as published (may hold HTML; never render it unsanitised)
    content_raw: str
    url: str  # canonical absolute link, "" when the entry has none
    published: datetime | None  # timezone-aware UTC
    published_raw: str | None
    language: str | None  # primary subtag, lower case ("ar", "en")
    content_hash: str  # sha256 of the plain title, summary and content
    author: str | None


@dataclass(frozen=True, slots=True)
class Skipped:
    """An item left out of a poll, and why, in one line for the source's warning and the log."""

    where: str  # its link, else its identity
    reason: str

    @classmethod
    def of(cls, where: str, what: str, exc: BaseException) -> Skipped:
        # a database error's own text, not SQLAlchemy's (which quotes the statement and
        # every parameter: the release itself)
        cause = getattr(exc, "orig", None) or exc
        detail = " ".join(str(cause).split())[:200]
        reason = f"{what}: {type(cause).__name__}" + (f": {detail}" if detail else "")
        return cls(storable(where)[:300], storable(reason))


def hits_json(hits: Iterable[Hit]) -> str:
    """Hits as the JSON list ``matches.hits`` keeps and every reader knows: what
    ``json.dumps([{"field": …, "term": …, "start": …, "end": …, "snippet": …}, …],
    ensure_ascii=False)`` writes, written directly (the strings through json's own
    encoder), without a dict per hit for the encoder to walk: half the time."""
    return "[" + ", ".join(map(_hit_json, hits)) + "]"


def _hit_json(hit: Hit) -> str:
    return (
        f'{{"field": {_STRING(hit.field)}, "term": {_STRING(hit.term)}, '
        f'"start": {int(hit.start)}, "end": {int(hit.end)}, "snippet": {_STRING(hit.snippet)}}}'
    )


# json's encoder for a string without ensure_ascii (C), as JSONEncoder(ensure_ascii=False)
# uses it
_STRING: Callable[[str], str] = json.encoder.encode_basestring


@dataclass(frozen=True, slots=True)
class DumpedMatch:
    """A ``RuleMatch`` as a parse worker sends it to the store: its hits dumped already,
    so the poll's process neither rebuilds a ``Hit`` per hit nor dumps them again (0.6 s
    of its CPU on a 50,000-item feed)."""

    rule_id: str
    hits_json: str  # ``hits_json(hits)``
    hit_count: int

    @classmethod
    def of(cls, match: RuleMatch) -> DumpedMatch:
        return cls(match.rule_id, hits_json(match.hits), match.hit_count)
