"""What a parse worker matched, looked up by the document the match step builds from a
stored row, while the matches stay packed (``Prepared.packed_matches``).

The match step asks for one document at a time, in the order the releases were stored,
which is the order of the chunks: the chunk last unpacked is kept, so each is unpacked
about once. A document is known by a 16-byte digest of what the rules see (source, URL,
language and the content hash of its three texts), not by the document itself: keys of
50,000 documents held their whole texts (some 50 MB for a flood's releases) until the
step ran. A release whose stored text differs from what the worker saw (its full text
fetched since) has another digest and is matched again by the caller.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from monitor.model import Document, RuleMatch
from monitor.parse.identity import ReleaseData
from monitor.parse.prepare import CHUNK, Prepared


def _digest(source: str, url: str, lang: str, texts_hash: str) -> bytes:
    key = "\x1f".join((source, url, lang, texts_hash)).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(key, digest_size=16).digest()


def release_key(source_id: str, release: ReleaseData) -> bytes:
    """The digest of ``document_of(source_id, release)``, from its content hash."""
    return _digest(source_id, release.url or "", release.language or "", release.content_hash)


def document_key(document: Document) -> bytes:
    return _digest(document.source, document.url, document.lang, _texts_hash(document))


_SLICE = 1 << 20  # characters encoded at once


def _texts_hash(document: Document) -> str:
    """``content_hash`` of the document's texts, without joining them or encoding any of
    them whole (a 10 MB body cost 40 MB that way, in the poll's process)."""
    digest = hashlib.sha256()
    for n, text in enumerate((document.title, document.summary, document.content)):
        if n:
            digest.update(b"\x1f")
        for start in range(0, len(text), _SLICE):
            digest.update(text[start : start + _SLICE].encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


class WorkerMatches:
    """The worker's matches of one prepared body, by document (``get``, as a dict's)."""

    def __init__(self, prepared: Prepared) -> None:
        self._prepared = prepared
        self._where: dict[bytes, int] = {}  # digest -> chunk * CHUNK + position
        self._chunk = -1
        self._matches: tuple[tuple[RuleMatch, ...], ...] = ()

    def add(self, source_id: str, chunk: int, releases: Sequence[ReleaseData]) -> None:
        """Know the releases of chunk number ``chunk`` (as the store reads them)."""
        for position, release in enumerate(releases):
            self._where[release_key(source_id, release)] = chunk * CHUNK + position

    def get(self, document: Document) -> Sequence[RuleMatch] | None:
        where = self._where.get(document_key(document))
        if where is None:
            return None
        chunk, position = divmod(where, CHUNK)
        if chunk != self._chunk:
            self._chunk, self._matches = chunk, self._prepared.matches_of(chunk)
        return self._matches[position]
