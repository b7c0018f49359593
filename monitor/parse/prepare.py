"""From a fetched body to releases ready to store — the CPU-heavy half of a poll, run in a
worker process so both cores work and the event loop stays responsive.

``prepare`` parses (feed or listing page), derives identities and plain text (the one
shared step, ``identity.derive_all``), fixes dates (the source's zone for zone-less dates,
Arabic month names, future dates clamped), fills in the language, and computes what the
store keeps for search and for story detection: the normalised index text and the LSH
band keys of the body. Everything here is pure: values in, values out, picklable.

One item never costs the others: an item that fails any of these steps is left out and
returned in ``Prepared.dropped`` with the reason (the pipeline reports it on the source).
Work is bounded by the input's size, never its content: the full-text index keeps at most
``MAX_INDEX_CHARS`` characters of distinct words per release (PostgreSQL refuses a tsvector
over 1 MB; the matcher still reads the whole text), and the story signature is computed
over the body's first ``MAX_STORY_WORDS`` words.
"""

from __future__ import annotations

import pickle
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from functools import partial
from itertools import starmap
from operator import attrgetter
from typing import TYPE_CHECKING, Any, NamedTuple
from zoneinfo import ZoneInfo

from monitor.model import (
    Document,
    DumpedMatch,
    Entry,
    ReleaseData,
    RuleMatch,
    Skipped,
    document_of,
    hits_json,
)
from monitor.parse.dates import clamp_future, read_date
from monitor.parse.language import text_language
from monitor.stories import MAX_STORY_WORDS, bands_of_words

if TYPE_CHECKING:  # the matcher's modules load in the workers, not where this is imported
    from monitor.rules.fields import FoldedField

# distinct words a release gives the full-text index, in characters: a tsvector of this
# many stays under PostgreSQL's 1 MB whatever the script (~9 bytes per word besides its own)
MAX_INDEX_CHARS = 100_000
_SLICE = 1 << 20  # characters of a long text read at once


CHUNK = 1000  # releases per packed chunk (``Prepared.packed``)


class Chunk(NamedTuple):
    """Up to ``CHUNK`` releases of a body, each with what the store keeps beside it."""

    releases: tuple[ReleaseData, ...]
    search_text: tuple[str, ...]  # per release: normalised words for the full-text index
    bands: tuple[str | None, ...]  # per release: LSH band keys, space-separated; None: too short


@dataclass(frozen=True, slots=True)
class PreparedRelease:
    """One release ready to store, with what is stored beside it and what the worker found."""

    release: ReleaseData
    search_text: str  # normalised words for the full-text index
    bands: str | None  # LSH band keys, space-separated; None: too short
    hits: tuple[DumpedMatch, ...] | None  # the rules it meets; None: not matched in a worker


@dataclass(frozen=True, slots=True)
class Prepared:
    """A prepared body. Its releases travel and wait packed, ``CHUNK`` at a time (a
    compressed pickle each): a feed of 50,000 items is 3 MB packed and was 105 MB as
    objects in the poll's process, plus as much again in each side's pickle memo while it
    crossed the pipe. The store reads them a chunk at a time (``chunks``); ``releases``
    and the other whole-body views unpack everything, for small bodies and tests."""

    kind: str  # rss20, atom10, json1, html, ...
    entries: int  # items the feed or page listed
    skipped: int  # listing items without a title or a link
    warnings: tuple[str, ...]
    # per ``CHUNK`` releases, their rows (plain tuples), pickled; the last chunk's are not:
    # a body of one 10 MB item would be held twice, as a pickle and as what it holds
    packed: tuple[bytes | Rows, ...]
    # per chunk, the rules each release meets (tuples of ``DumpedMatch`` rows: the hits
    # as the store's JSON), pickled but the last, when the worker had the matcher of
    # ``rules_key``; apart, as the match step reads them
    packed_matches: tuple[bytes | Rows, ...] | None = None
    rules_key: str | None = None
    dropped: tuple[Skipped, ...] = ()  # items that could not be prepared, and why

    def records(self) -> Iterator[list[PreparedRelease]]:
        """The releases as records, ``CHUNK`` at a time (a chunk unpacked at once)."""
        for number, chunk in enumerate(self.chunks()):
            hits: Sequence[tuple[DumpedMatch, ...] | None]
            if self.packed_matches is None:
                hits = [None] * len(chunk.releases)
            else:
                hits = self.matches_of(number)
            yield [
                PreparedRelease(*fields)
                for fields in zip(chunk.releases, chunk.search_text, chunk.bands, hits, strict=True)
            ]

    def chunks(self) -> Iterator[Chunk]:
        for packed in self.packed:
            rows, texts, bands = _unpacked(packed)
            # the class called from C over the rows: no generator frame per release
            yield Chunk(tuple(starmap(ReleaseData, rows)), texts, bands)

    def matches_of(self, chunk: int) -> tuple[tuple[DumpedMatch, ...], ...]:
        """The worker's matches of the releases of chunk number ``chunk``."""
        assert self.packed_matches is not None
        rows = _unpacked(self.packed_matches[chunk])
        # each release's matches built from C (``starmap``), not by two nested generators
        # (0.71 -> 0.54 ms per 1,000 releases)
        return tuple(map(tuple, map(_dumped_matches, rows)))

    @property
    def releases(self) -> tuple[ReleaseData, ...]:  # one per identity
        return tuple(r for chunk in self.chunks() for r in chunk.releases)

    @property
    def search_text(self) -> tuple[str, ...]:
        return tuple(t for chunk in self.chunks() for t in chunk.search_text)

    @property
    def bands(self) -> tuple[str | None, ...]:
        return tuple(b for chunk in self.chunks() for b in chunk.bands)

    @property
    def matches(self) -> tuple[tuple[DumpedMatch, ...], ...] | None:
        if self.packed_matches is None:
            return None
        return tuple(m for i in range(len(self.packed)) for m in self.matches_of(i))


Rows = tuple[Any, ...]
_dumped_matches = partial(starmap, DumpedMatch)


def _unpacked(packed: bytes | Rows) -> Rows:
    if isinstance(packed, bytes):
        rows: Rows = pickle.loads(zlib.decompress(packed))  # noqa: S301 (ours: ``_pickled``)
        return rows
    return packed


def pack(
    releases: Sequence[ReleaseData],
    search_text: Sequence[str],
    bands: Sequence[str | None],
    matches: Sequence[tuple[RuleMatch | DumpedMatch, ...]] | None = None,
) -> tuple[tuple[bytes, ...], tuple[bytes, ...] | None]:
    """``Prepared.packed`` and ``packed_matches`` of these releases (in step), all pickled.
    Releases and matches are pickled as plain tuples: a slotted dataclass pickles through
    its fields() on both sides, a third of the packing and unpacking of 50,000 releases."""
    packed, packed_matches = rows_of(releases, search_text, bands, matches)
    pickled = tuple(map(_pickled, packed))
    return pickled, None if packed_matches is None else tuple(map(_pickled, packed_matches))


def rows_of(
    releases: Sequence[ReleaseData],
    search_text: Sequence[str],
    bands: Sequence[str | None],
    matches: Sequence[tuple[RuleMatch | DumpedMatch, ...]] | None = None,
) -> tuple[tuple[Rows, ...], tuple[Rows, ...] | None]:
    """``pack``, not pickled."""
    starts = range(0, len(releases), CHUNK)
    packed = tuple(
        (
            tuple(map(_release_row, releases[start : start + CHUNK])),
            tuple(search_text[start : start + CHUNK]),
            tuple(bands[start : start + CHUNK]),
        )
        for start in starts
    )
    if matches is None:
        return packed, None
    return packed, tuple(
        tuple(tuple(map(_match_row, found)) for found in matches[start : start + CHUNK])
        for start in starts
    )


def _pickled(rows: Rows) -> bytes:
    """Pickled and compressed: a feed's releases and matches are held packed for the whole
    poll, in the worker and then in the poll's process. The 50,000 items of the hostile
    flood pack into 20 MB of pickles, 3.1 MB compressed (zlib's fastest level: 74 ms to
    compress them all, 37 ms to decompress). Pickled straight into the compressor: one
    item of 9.5 MB made a 20 MB pickle first (issue 22)."""
    deflating = _Deflating()
    pickle.Pickler(deflating, protocol=pickle.HIGHEST_PROTOCOL).dump(rows)
    return deflating.done()


class _Deflating:
    """A file that compresses what is written to it (zlib's fastest level)."""

    def __init__(self) -> None:
        self._compressor = zlib.compressobj(1)
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(self._compressor.compress(data))
        return len(data)

    def done(self) -> bytes:
        self._parts.append(self._compressor.flush())
        return b"".join(self._parts)


_release_row = attrgetter(*(f.name for f in fields(ReleaseData)))
_LANGUAGE, _PUBLISHED = (
    [f.name for f in fields(ReleaseData)].index(name) for name in ("language", "published")
)


def _match_row(match: RuleMatch | DumpedMatch) -> tuple[str, str, int]:
    """A match as ``DumpedMatch``'s fields: its hits dumped here, in the worker."""
    if isinstance(match, DumpedMatch):
        return match.rule_id, match.hits_json, match.hit_count
    return match.rule_id, hits_json(match.hits), match.hit_count


@dataclass(frozen=True, slots=True)
class Recipe:
    """How to read one source's bodies (a picklable summary of its config)."""

    source_kind: str  # feed | html
    source_id: str  # what rules scoped to sources see
    identity: str  # auto | guid | link | content
    language: str | None  # the source's hint
    zone: str  # IANA name, for dates that carry no zone
    selectors: tuple[tuple[str, str | None], ...] = ()  # html: item, title, link, date, ...


def prepare(
    body: bytes,
    headers: Mapping[str, str],
    url: str,
    recipe: Recipe,
    now: datetime,
    matcher: tuple[str, Any] | None = None,
) -> Prepared:
    """``matcher``: (rules key, ``Matcher``) to also match every release here.

    Releases are prepared and packed ``CHUNK`` at a time, each entry let go once derived:
    the feed's entries, its releases and their pickles are never all held at once."""
    from monitor.parse.identity import derive_each
    from monitor.rules.matcher import folded_fields

    zone = ZoneInfo(recipe.zone)
    skipped = 0
    if recipe.source_kind == "html":
        from monitor.parse.listing import ListingSelectors, parse_listing

        selectors = ListingSelectors(**dict(recipe.selectors))  # type: ignore[arg-type]
        listing = parse_listing(body, headers, url, selectors, zone)
        feed, skipped = listing.feed, listing.skipped
        del listing
    else:
        from monitor.parse.feed import parse_feed

        feed = parse_feed(body, headers, url)
    kind, entries, language = feed.kind, list(feed.entries), feed.language
    count, feed_warnings = len(entries), feed.warnings
    del feed
    warnings: list[str] = []  # the releases', after the feed's and derive's
    derive_warnings: list[str] = []
    dropped: list[Skipped] = []
    derived = derive_each(
        _let_go(entries),
        mode=recipe.identity,
        feed_url=url,
        feed_language=language,
        skipped=dropped,
        warnings=derive_warnings,
    )
    packed: list[bytes | Rows] = []
    packed_matches: list[bytes | Rows] = []
    releases: list[ReleaseData] = []
    texts: list[str] = []
    bands: list[str | None] = []
    matches: list[tuple[RuleMatch, ...]] = []

    def flush(last: bool = False) -> None:
        rows, match_rows = rows_of(releases, texts, bands, matches if matcher else None)
        # the last chunk travels as it is, but one holding megabytes of text: packed, the
        # poll's process holds a fraction of it through the poll (compressed) and it
        # crosses the pipe small, not as 20 MB of pickle while both processes are at
        # their fullest (the 9.5 MB Arabic item of issue 22)
        whole = last and sum(map(_text_size, releases)) <= _SLICE
        packed.extend(rows if whole else map(_pickled, rows))
        match_rows = match_rows or ()
        packed_matches.extend(match_rows if whole else map(_pickled, match_rows))
        for done in (releases, texts, bands, matches):
            done.clear()

    for release in derived:
        try:
            release, text, band, found = _prepared_one(
                release, recipe, zone, now, warnings, matcher, folded_fields
            )
        except Exception as exc:  # one odd item must not cost the feed's others
            dropped.append(Skipped.of(release.url or release.identity, "not prepared", exc))
            continue
        releases.append(release)
        texts.append(text)
        bands.append(band)
        matches.append(found)
        if len(releases) == CHUNK:
            flush()
    flush(last=True)
    return Prepared(
        kind=kind,
        entries=count,
        skipped=skipped,
        warnings=tuple(dict.fromkeys([*feed_warnings, *derive_warnings, *warnings]))[:5],
        packed=tuple(packed),
        packed_matches=tuple(packed_matches) if matcher is not None else None,
        rules_key=matcher[0] if matcher is not None else None,
        dropped=tuple(dropped),
    )


def _prepared_one(
    release: ReleaseData,
    recipe: Recipe,
    zone: ZoneInfo,
    now: datetime,
    warnings: list[str],
    matcher: tuple[str, Any] | None,
    folded_fields: Callable[[Document], dict[str, FoldedField]],
) -> tuple[ReleaseData, str, str | None, tuple[RuleMatch, ...]]:
    """One release finished, with its index text, bands and matches. A function of its
    own so that its folded fields (twice a long text's size) go when it returns."""
    release = finish(release, recipe, zone, now, warnings)
    # each field folded once, for the index, the story signature and the rules
    document = document_of(recipe.source_id, release)
    fields = folded_fields(document)
    text = index_words(_joined(fields, ("title", "summary", "content")))
    story = ("content",) if _content_holds_summary(release) else ("summary", "content")
    band = _bands_of(_first_words(_joined(fields, story)))
    found = tuple(matcher[1].match(document, fields=fields)) if matcher else ()
    return release, text, band, found


def _text_size(release: ReleaseData) -> int:
    return sum(
        len(t or "")
        for t in (release.summary, release.content, release.summary_raw, release.content_raw)
    )


def _let_go(entries: list[Entry]) -> Iterator[Entry]:
    """Each entry of ``entries`` in order, dropped from the list as it is handed out."""
    entries.reverse()
    while entries:
        yield entries.pop()


def _joined(fields: Mapping[str, FoldedField], names: tuple[str, ...]) -> str:
    """The folded words of those fields, in order, one space apart: what ``index_text`` of
    the fields joined by newlines gives (folding never joins words across whitespace)."""
    return " ".join(
        spaced for name in names if name in fields and (spaced := fields[name].spaced.strip())
    )


def _content_holds_summary(release: ReleaseData) -> bool:
    # the choice ``stories.story_body`` makes
    return bool(release.content and release.summary and release.summary in release.content)


def _bands_of(found: list[str]) -> str | None:
    bands = bands_of_words(found)
    return " ".join(bands) if bands else None


def _first_words(text: str, count: int = MAX_STORY_WORDS) -> list[str]:
    """The first ``count`` words of ``text`` (never a list of all of a huge text's)."""
    return text.split(maxsplit=count)[:count]


def finish(
    release: ReleaseData, recipe: Recipe, zone: ZoneInfo, now: datetime, warnings: list[str]
) -> ReleaseData:
    """Language and date of one release, with the source's hints."""
    language, problem = text_language(release.language or recipe.language, release)
    if problem:
        warnings.append(problem)
    published = release.published
    if release.published_raw:
        # feedparser reads a zone-less date as UTC; ours reads it in the source's zone,
        # knows Arabic month names and Hijri dates, and says None rather than guess
        reading = read_date(release.published_raw, zone)
        published = reading.value or published
        if reading.warning:
            warnings.append(reading.warning)
    if published is not None:
        published, problem = clamp_future(published, now)
        if problem:
            warnings.append(problem)
    if _same_moment(published, release.published):
        published = release.published  # read alike by both parsers, the usual case
    if language == release.language and published is release.published:
        return release
    # not dataclasses.replace, which reads the class's fields on every call: 5 % of the
    # worker's CPU on a 50,000-item feed
    row = list(_release_row(release))
    row[_LANGUAGE], row[_PUBLISHED] = language, published
    return ReleaseData(*row)


def _same_moment(read: datetime | None, parsed: datetime | None) -> bool:
    """Whether two readings of a date are the same value (``repr`` and all): the release
    is then not built again (a frozen dataclass of 12 fields, per item)."""
    return (
        read is not None
        and parsed is not None
        and read == parsed
        and read.tzinfo is parsed.tzinfo
        and read.fold == parsed.fold
    )


def search_text(release: ReleaseData) -> str:
    from monitor.rules.normalize import index_text

    return index_words(index_text(f"{release.title}\n{release.summary}\n{release.content}"))


def index_words(text: str) -> str:
    """Each word of ``text`` once, in order of first appearance: what the full-text index
    needs. The archive's pre-filter asks only whether a word (or a word starting with a
    prefix) is there (``rules.prefilter``); phrases and nearness are left to the matcher.
    A third of the words, on the corpus (24 MB of text down to 8.5 MB), and about half the
    time SQLite spent indexing them on every insert. At most ``MAX_INDEX_CHARS``; a long
    text is read a slice at a time, so no list of all its words is ever built."""
    if len(text) <= _SLICE:
        joined = " ".join(dict.fromkeys(text.split()))
    else:
        seen: dict[str, None] = {}
        size = start = 0
        while start < len(text) and size <= MAX_INDEX_CHARS:
            end = text.find(" ", start + _SLICE) + 1 or len(text)
            for word in dict.fromkeys(text[start:end].split()):
                if word not in seen:
                    seen[word] = None
                    size += len(word) + 1
            start = end
        joined = " ".join(seen)
    if len(joined) <= MAX_INDEX_CHARS:
        return joined
    return joined[: joined.rfind(" ", 0, MAX_INDEX_CHARS + 1)]


def story_bands(release: ReleaseData) -> str | None:
    """The LSH band keys of a release's body, as ``prepare`` computes them."""
    from monitor.rules.normalize import index_text
    from monitor.stories import story_body

    return _bands_of(_first_words(index_text(story_body(release.summary, release.content))))
