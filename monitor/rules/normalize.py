"""The one normalisation of monitor: queries, matching and the full-text index all use it.

Folding (SPEC section 3), in this order:

1. Unicode NFKC (presentation forms become letters, ligatures split), then case folding.
   NFKC composes a decomposed hamza seat (ا + U+0654 → أ) before step 2 sees it.
2. Removed: Latin combining accents (U+0300–U+036F; precomposed Latin letters lose
   theirs through a table built from their decompositions), Arabic harakat
   (U+064B–U+0652), dagger alef (U+0670), tatweel (U+0640), the invisible characters
   U+200B–U+200F, U+202A–U+202E, U+2066–U+2069, U+061C, U+FEFF, U+00AD, and hamza/madda
   marks that found no base to compose with (U+0653–U+0655).
3. أ إ آ ٱ → ا, ى → ي, ة → ه, Arabic-Indic and Persian digits → 0-9.

Where Lucene's ``ArabicNormalizer`` handles a character the mapping is the same (alef
seats, dotless yeh, teh marbuta, harakat, tatweel); ٱ, U+0670 and the digits are SPEC's
additions, and ؤ/ئ stay as Lucene leaves them.

Words are runs of letters and digits of the folded text; everything else is a boundary.
Removed characters produce nothing, so a ZWNJ or a tatweel inside a word does not split it.
Combining marks of other scripts (e.g. Devanagari vowel signs) are boundaries: the query
and the text are split the same way, so such words still match as phrases.

Two paths, one result: ``words`` folds a whole field at C speed for matching; ``tokenize``
also maps every word back to offsets in the original text (for highlighting), folding one
whitespace-delimited chunk at a time. Folding never joins across whitespace, so both
produce the same words (a property test holds them to it). ``FoldedField`` is what the
matcher uses: the spaced words of one field, and the way back from a hit to the original
text, computed only when a hit asks for it (see ``monitor.rules.fields``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_DELETE = [
    *range(0x0300, 0x0370),
    *range(0x064B, 0x0653),
    0x0670,
    0x0640,
    *range(0x200B, 0x2010),
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
    0x061C,
    0xFEFF,
    0x00AD,
    *(0x0653, 0x0654, 0x0655),  # hamza/madda marks that NFKC could not compose with a base
]
_ARABIC_MAP = {
    0x0623: "ا",  # أ  (Lucene: ALEF_HAMZA_ABOVE)
    0x0625: "ا",  # إ  (Lucene: ALEF_HAMZA_BELOW)
    0x0622: "ا",  # آ  (Lucene: ALEF_MADDA)
    0x0671: "ا",  # ٱ  alef wasla (SPEC)
    0x0649: "ي",  # ى  (Lucene: DOTLESS_YEH)
    0x0629: "ه",  # ة  (Lucene: TEH_MARBUTA)
}


def _fold_table() -> dict[int, str | None]:
    table: dict[int, str | None] = dict.fromkeys(_DELETE)
    # Precomposed Latin letters lose their accents here, one table lookup instead of an
    # NFD/strip/NFC round trip over the whole text.
    for code in [*range(0x00C0, 0x0250), *range(0x1E00, 0x1F00)]:
        bare = "".join(
            c for c in unicodedata.normalize("NFD", chr(code)) if not 0x0300 <= ord(c) < 0x0370
        )
        if bare != chr(code):
            table[code] = bare
    table.update(_ARABIC_MAP)
    table.update({0x0660 + d: str(d) for d in range(10)})  # Arabic-Indic digits
    table.update({0x06F0 + d: str(d) for d in range(10)})  # Persian digits
    return table


_TABLE = _fold_table()
# str.translate is slow on non-ASCII text (a dict lookup, and an exception for every
# unmapped character), so the frequent Arabic letters go through str.replace and the
# rest (marks, invisibles, digits, accented letters: rare) through one regex.
_FREQUENT = {chr(k): _TABLE.pop(k) or "" for k in (0x0623, 0x0625, 0x0622, 0x0629, 0x0649)}
_RARE = re.compile("[" + "".join(re.escape(chr(k)) for k in _TABLE) + "]")

WORD_RE = re.compile(r"[^\W_]+")
_CHUNK_RE = re.compile(r"\S+")
# A chunk that is one run of these letters, with only plain punctuation around it, is one
# word spanning exactly that run: ``tokenize`` skips the per-character mapping for it.
_PLAIN_LETTERS = (
    "A-Za-z0-9\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u013e\u0141-\u017f"
    "\u0621-\u063a\u0641-\u064a\u0660-\u0669\u06f0-\u06f9"
)
_PLAIN_PUNCT = "!-/:-@\\[-`{-~\u060c\u061b\u061f\u00ab\u00bb\u2018\u2019\u201c\u201d"
_PLAIN_CHUNK = re.compile(f"[{_PLAIN_PUNCT}]*([{_PLAIN_LETTERS}]+)[{_PLAIN_PUNCT}]*")
_PLAIN_TEXT = re.compile(f"[ \t\n\r{_PLAIN_LETTERS}{_PLAIN_PUNCT}]*")
_PLAIN_PUNCT_RE = re.compile(f"[{_PLAIN_PUNCT}]")
_ASCII_SPACED = bytes(c for c in range(128) if _PLAIN_PUNCT_RE.match(chr(c)) or c in b"\t\n\r")
_ASCII_BOUNDARIES = bytes.maketrans(_ASCII_SPACED, b" " * len(_ASCII_SPACED))


@dataclass(frozen=True, slots=True)
class Token:
    """One word: its folded form and its span in the original text."""

    norm: str
    start: int
    end: int


def normalize(text: str) -> str:
    """Fold ``text`` (SPEC section 3). Punctuation and spacing are kept; see ``words``."""
    if text.isascii():
        return text.lower()
    folded = unicodedata.normalize("NFKC", text).casefold()
    for char, replacement in _FREQUENT.items():
        if char in folded:
            folded = folded.replace(char, replacement)
    return _RARE.sub(_rare, folded)


def _rare(match: re.Match[str]) -> str:
    return _TABLE[ord(match.group())] or ""


def words(text: str) -> list[str]:
    """The folded words of ``text``, in order (the fast path, without offsets)."""
    boundaries = plain_fold(text)
    return boundaries.split() if boundaries is not None else split_folded(normalize(text))


def split_folded(folded: str) -> list[str]:
    """The words of an already folded text."""
    find = WORD_RE.findall
    # Most whitespace-separated chunks are already one word; only the others need the regex.
    return [w for c in folded.split() for w in ((c,) if c.isalnum() else find(c))]


def index_text(text: str) -> str:
    """Folded words joined by single spaces: what the full-text index stores and searches."""
    return " ".join(words(text))


def plain_fold(text: str) -> str | None:
    """For a plain text, its folding with every boundary character turned into a space.

    Plain: only ``_PLAIN_LETTERS``, ``_PLAIN_PUNCT`` and ASCII spaces, tabs and newlines.
    Those letters fold to word characters and that punctuation to itself, so the words
    are what ``split()`` gives — without a per-chunk regex. ``None`` for other texts.
    """
    if _PLAIN_TEXT.fullmatch(text) is None:
        return None
    folded = normalize(text)
    if folded.isascii():  # a byte table is many times faster than the regex
        return folded.encode("ascii").translate(_ASCII_BOUNDARIES).decode("ascii")
    folded = _PLAIN_PUNCT_RE.sub(" ", folded)
    for space in "\t\n\r":
        if space in folded:
            folded = folded.replace(space, " ")
    return folded


def tokenize(text: str) -> list[Token]:
    """The folded words of ``text`` with their spans in the original ``text``."""
    return [
        Token(normalize(text[start:end]) if norm is None else norm, start, end)
        for start, end, norm in _words_with_spans(text)
    ]


def word_spans(text: str, count: int | None = None) -> list[tuple[int, int]]:
    """The spans of ``tokenize(text)`` (at least the first ``count``), without folding."""
    return [(start, end) for start, end, _ in _words_with_spans(text, count)]


def _words_with_spans(text: str, count: int | None = None) -> list[tuple[int, int, str | None]]:
    found: list[tuple[int, int, str | None]] = []
    for chunk in _CHUNK_RE.finditer(text):
        if count is not None and len(found) >= count:
            break
        plain = _PLAIN_CHUNK.fullmatch(text, chunk.start(), chunk.end())
        if plain is None:
            found.extend(
                (t.start, t.end, t.norm) for t in _chunk_tokens(chunk.group(), chunk.start())
            )
        else:
            found.append((*plain.span(1), None))
    return found


def _chunk_tokens(chunk: str, offset: int) -> list[Token]:
    folded = normalize(chunk)
    found = list(WORD_RE.finditer(folded))
    if not found:
        return []
    origin = _origins(chunk, folded)
    if origin is None:
        # Folding the chunk as a whole differed from folding it piece by piece (exotic
        # compositions): every word then spans the whole chunk, which is still correct.
        return [Token(m.group(), offset, offset + len(chunk)) for m in found]
    return [
        Token(m.group(), offset + origin[m.start()][0], offset + origin[m.end() - 1][1])
        for m in found
    ]


def _origins(chunk: str, folded: str) -> list[tuple[int, int]] | None:
    """For each character of ``folded``, the span of ``chunk`` it came from."""
    if chunk.isascii():
        return [(i, i + 1) for i in range(len(chunk))] if folded == chunk.lower() else None
    origin: list[tuple[int, int]] = []
    pieces: list[str] = []
    i = 0
    while i < len(chunk):
        j = i + 1
        # A base character and the combining marks after it fold together (NFKC composes
        # only within such a cluster).
        while j < len(chunk) and unicodedata.combining(chunk[j]):
            j += 1
        piece = normalize(chunk[i:j])
        pieces.append(piece)
        origin.extend([(i, j)] * len(piece))
        i = j
    return origin if "".join(pieces) == folded else None


def is_arabic_letter(char: str) -> bool:
    """True for the Arabic letters that proclitics and the article attach to."""
    return "\u0620" <= char <= "\u064a" or "\u066e" <= char <= "\u06d3"
