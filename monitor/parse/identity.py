"""The one step after parsing: an ``Entry`` becomes ``ReleaseData`` with its identity.

Every parser (feeds now, listing pages later) hands its entries to ``derive``, and only
``derive`` decides identity, plain text, canonical URL and content hash, so no parser can
change how a release is recognised. It first makes every field storable (``clean``: no
NUL, control character or lone surrogate, NFC), so no parser's output can fail a write.
Plain text: a field the parser marks as markup (``Entry.markup``: what its format says is
HTML) is converted once with ``html_to_text``; any other is text already and is never
read as HTML (a title ``A<B and C>D`` stays so). A title longer than ``clean.MAX_TITLE``
characters is cut. Identity modes (per source):

- ``auto``    the entry's GUID/id when present, else its canonical link, else content;
- ``guid``    the GUID (falling back as ``auto`` when an entry has none);
- ``link``    the canonical link (then content), for publishers whose GUIDs change or repeat;
- ``content`` a hash of the normalised title and the date, for feeds with neither.

Identities carry their kind as a prefix (``guid:``, ``link:``, ``content:``) and are at most
``MAX_IDENTITY`` characters (longer ones are hashed). ``content_hash`` covers the plain
title, summary and content: a revision is a change of this hash.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Iterator
from urllib.parse import urljoin, urlsplit, urlunsplit

from monitor.model import Entry, ParsedFeed, ReleaseData, Skipped
from monitor.parse.clean import MAX_TITLE, bounded_title, clean_entry
from monitor.parse.text import collapse_whitespace, html_to_text

MODES = ("auto", "guid", "link", "content")
MAX_IDENTITY = 512
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid",
        "mc_cid", "mc_eid", "igshid", "_hsenc", "_hsmi", "mkt_tok", "vero_id", "oly_anon_id",
        "oly_enc_id", "rb_clickid", "s_cid", "twclid", "ttclid", "li_fat_id", "wickedid",
    }
)  # fmt: skip
TRACKING_PREFIXES = ("utm_",)
DEFAULT_PORTS = {"http": 80, "https": 443}
# A plain absolute link: http(s), an ASCII host (and port), a path without query, fragment,
# parameters, backslash, space or control character. urljoin gives it back unchanged
# whatever the base (one that parses), and its canonical form is its origin's with the path
# as it is. Three URL parses of every link were a tenth of a 50,000-item feed's parse.
_PLAIN_LINK = re.compile(r"(https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?)(/[^?#;\\\x00-\x20]*)?")


def canonical_url(url: str) -> str:
    """Scheme and host lower-cased, default port, userinfo, fragment and tracking parameters
    dropped; everything else (path case, parameter order, encoding) kept as published."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    netloc = parts.netloc
    if parts.hostname is not None:
        host = parts.hostname.lower()
        if ":" in host:
            host = f"[{host}]"  # IPv6 literal
        # userinfo dropped: a link resolved against a credentialed source URL
        # (``http://user:secret@host/feed``) would carry the secret into every alert and
        # page, and a rotated password would make every release new
        netloc = host
        if port is not None and port != DEFAULT_PORTS.get(scheme):
            netloc += f":{port}"
    path = parts.path
    if not path and netloc and scheme in DEFAULT_PORTS:
        path = "/"
    query = "&".join(p for p in parts.query.split("&") if p and not _is_tracking(p))
    return urlunsplit((scheme, netloc, path, query, ""))


def resolved_link(base: str, link: str) -> str:
    """``canonical_url(urljoin(base, link))``, without parsing a plain link (and raising the
    same ValueError for a base that does not parse)."""
    plain = _PLAIN_LINK.fullmatch(link)
    if plain is None or not joins_to_itself(base, link):
        return canonical_url(urljoin(base, link))
    origin = _canonical_origin(plain[1])
    return link if origin is None else origin + (plain[2] or "/")


def joins_to_itself(base: str, link: str) -> bool:
    """Whether ``urljoin(base, link)`` is surely ``link`` (a plain link, see above): the
    join parses the base first, and fails with it."""
    return _PLAIN_LINK.fullmatch(link) is not None and (not base or _parses(base))


@functools.lru_cache(maxsize=64)
def _parses(base: str) -> bool:
    try:
        urlsplit(base)
    except ValueError:
        return False
    return True


@functools.lru_cache(maxsize=256)
def _canonical_origin(origin: str) -> str | None:
    """``canonical_url`` of a plain link's ``scheme://host[:port]``, None when its port is
    out of range (``canonical_url`` leaves such a link alone)."""
    try:
        urlsplit(origin).port  # noqa: B018 (reading the port checks it)
    except ValueError:
        return None
    return canonical_url(origin + "/")[:-1]


def _is_tracking(pair: str) -> bool:
    name = pair.split("=", 1)[0].lower()
    return name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES)


def derive(
    entry: Entry,
    *,
    mode: str = "auto",
    feed_url: str,
    feed_language: str | None = None,
    warnings: list[str] | None = None,
) -> ReleaseData:
    """Identity, plain text and canonical URL of one parsed entry, its text made storable
    first (``clean``). A title cut to ``MAX_TITLE`` characters is told in ``warnings``."""
    if mode not in MODES:
        raise ValueError(f"identity mode must be one of {', '.join(MODES)}, not {mode!r}")
    entry = clean_entry(entry)
    title = _text(entry, "title")
    if len(title) > MAX_TITLE:
        if warnings is not None:
            where = (entry.link or entry.guid or title[:80]).strip()[:200]
            warnings.append(f"title of {where} cut from {len(title):,} to {MAX_TITLE:,} characters")
        title = bounded_title(title)
    summary = _text(entry, "summary")
    # feeds often repeat the body in both fields; convert it once
    alike = ("summary" in entry.markup) == ("content" in entry.markup)
    content = summary if alike and entry.content == entry.summary else _text(entry, "content")
    url = resolved_link(feed_url, entry.link.strip()) if entry.link else ""
    return ReleaseData(
        identity=_identity(entry, mode, url, title),
        title=title,
        summary=summary,
        content=content,
        summary_raw=entry.summary,
        content_raw=entry.content,
        url=url,
        published=entry.published,
        published_raw=entry.published_raw,
        language=_language(entry.language) or _language(feed_language),
        content_hash=content_hash(title, summary, content),
        author=entry.author,
    )


def _text(entry: Entry, name: str) -> str:
    """A text field as plain text: markup converted once; text kept as it is (a title
    ``A<B and C>D`` stays so), its whitespace collapsed as ``html_to_text`` would."""
    value: str = getattr(entry, name)
    return html_to_text(value) if name in entry.markup else collapse_whitespace(value)


def derive_all(
    feed: ParsedFeed,
    *,
    mode: str = "auto",
    feed_url: str,
    skipped: list[Skipped] | None = None,
) -> tuple[tuple[ReleaseData, ...], tuple[str, ...]]:
    """``derive`` every entry of a feed; one release per identity (the first in the feed).

    Entries sharing an identity with different text mean the publisher repeats GUIDs (or
    links): they are reported as a warning suggesting another identity mode, and only the
    first is kept, so one batch never holds an identity twice (an upsert would reject it).
    An entry ``derive`` fails on is left out, and told in ``skipped`` (raised without it)."""
    warnings: list[str] = []
    releases = tuple(
        derive_each(
            feed.entries,
            mode=mode,
            feed_url=feed_url,
            feed_language=feed.language,
            skipped=skipped,
            warnings=warnings,
        )
    )
    return releases, tuple(warnings)


def derive_each(
    entries: Iterable[Entry],
    *,
    mode: str = "auto",
    feed_url: str,
    feed_language: str | None,
    skipped: list[Skipped] | None = None,
    warnings: list[str],
) -> Iterator[ReleaseData]:
    """``derive_all``, one release at a time: only the identities seen so far are kept
    (with their content hash), never the releases. Its warnings go to ``warnings``, the
    clashes' first once every entry has been read."""
    hashes: dict[str, str] = {}  # identity -> content hash of the first release
    clashes: dict[str, int] = {}  # identity kind -> entries skipped
    for entry in entries:
        try:
            release = derive(
                entry, mode=mode, feed_url=feed_url, feed_language=feed_language, warnings=warnings
            )
        except Exception as exc:  # one odd entry must not cost the feed's others
            if skipped is None:
                raise
            skipped.append(Skipped.of(entry.link or entry.guid or "", "not read", exc))
            continue
        kept = hashes.get(release.identity)
        if kept is None:
            hashes[release.identity] = release.content_hash
            yield release
        elif kept != release.content_hash:
            kind = release.identity.split(":", 1)[0].removesuffix("-sha256")
            clashes[kind] = clashes.get(kind, 0) + 1
    warnings[:0] = [
        f"{count} entries repeat the {kind} of a different entry and were skipped; "
        "this source may need another identity mode (guid, link or content)"
        for kind, count in clashes.items()
    ]


def _identity(entry: Entry, mode: str, url: str, title: str) -> str:
    guid = (entry.guid or "").strip()
    order = {
        "auto": ("guid", "link", "content"),
        "guid": ("guid", "link", "content"),
        "link": ("link", "content"),
        "content": ("content",),
    }[mode]
    for kind in order:
        if kind == "guid" and guid:
            return _bounded("guid", guid)
        if kind == "link" and url:
            return _bounded("link", url)
    when = entry.published.isoformat() if entry.published else (entry.published_raw or "")
    return "content:" + _sha256(_normalise_title(title) + "\x1f" + when.strip())


def _bounded(kind: str, value: str) -> str:
    identity = f"{kind}:{value}"
    if len(identity) <= MAX_IDENTITY:
        return identity
    return f"{kind}-sha256:{_sha256(value)}"


def _normalise_title(title: str) -> str:
    text = unicodedata.normalize("NFKC", title).casefold()
    return " ".join(text.split())


def _language(tag: str | None) -> str | None:
    if not tag:
        return None
    primary = re.split(r"[-_\s]", tag.strip(), maxsplit=1)[0].lower()
    return primary if primary.isalpha() and 2 <= len(primary) <= 8 else None


def content_hash(title: str, summary: str, content: str) -> str:
    """The revision key of a release: a change of its plain text is a new revision."""
    return _sha256("\x1f".join((title, summary, content)))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
