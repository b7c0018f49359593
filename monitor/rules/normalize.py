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
produce the same words (a property test holds them to it). Most texts are plain
(``plain_fold``: every character folds alone, whatever its neighbours), and for those
``words`` only turns boundaries into spaces and splits, and ``plain_word_spans`` finds
the offsets with one regex over the original. ``FoldedField`` is what the
matcher uses: the spaced words of one field, and the way back from a hit to the original
text, computed only when a hit asks for it (see ``monitor.rules.fields``).
"""

from __future__ import annotations

import functools
import re
import string
import unicodedata
from dataclasses import dataclass
from itertools import islice

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


# Plain characters fold alike wherever they stand in a text of plain characters, so such a
# text folds character by character (``plain_fold``). They are found among the blocks that
# news text uses (~10,000 characters, ~15 ms with the regexes built from them) on first
# use, not at import: a poll where nothing changed never folds a non-ASCII text. Any
# other character sends its text down the general path.
_SCANNED_BLOCKS = (
    (0x0001, 0x02FF),  # ASCII (but NUL: see _plain), Latin-1, Latin Extended, IPA
    (0x0370, 0x052F),  # Greek, Cyrillic
    (0x0600, 0x06FF),  # Arabic
    (0x0750, 0x077F),  # Arabic Supplement
    (0x1E00, 0x1FFF),  # Latin Extended Additional, Greek Extended
    (0x2000, 0x2BFF),  # punctuation, currency, letterlike, arrows, maths, boxes, dingbats
    (0x2E00, 0x2E7F),  # Supplemental Punctuation
    (0x3000, 0x30FF),  # CJK punctuation, kana
    (0xFB00, 0xFDFF),  # Latin and Arabic presentation forms
    (0xFE00, 0xFFFD),  # variation selectors, small, Arabic, half- and full-width forms
    (0x1F000, 0x1FAFF),  # emoji, pictographs
)


@dataclass(frozen=True, slots=True)
class _Plain:
    """The plain characters (code points), by what each folds into."""

    letters: list[int]  # word characters only
    letters1: list[int]  # exactly one word character
    folded_letters: list[int]  # what the letters fold into
    boundaries: list[int]  # no word character
    long_boundaries: list[int]  # more than one character ("…" into "...")
    deleted: list[int]  # nothing (the removed characters that compose with nothing)
    deleted_marks: list[int]  # those of them that are combining marks


def _folds_alone(char: str) -> bool:
    """True if ``char`` folds alike whatever plain characters stand around it.

    NFKC composes a character only with what precedes it, and only a combining mark (or a
    conjoining jamo) composes with what precedes it. So ``char`` must be no mark, and its
    decomposition must start with no mark or jamo. Variation selectors are marks that
    compose with nothing. ``tests/rules/test_plain.py`` checks every plain character
    against Unicode's whole decomposition table.
    """
    category = unicodedata.category(char)
    if category in ("Cn", "Cs", "Co"):
        return False
    if category[0] == "M":
        return "\ufe00" <= char <= "\ufe0f"
    first = unicodedata.normalize("NFKD", char)[0]
    return (
        unicodedata.category(first)[0] != "M"
        and not unicodedata.combining(first)
        and not "\u1100" <= first <= "\u11ff"
    )


@functools.cache
def _plain() -> _Plain:
    deleted = [c for c in _DELETE if not 0x0300 <= c < 0x0370 and not 0x0653 <= c <= 0x0655]
    marks = [c for c in deleted if unicodedata.combining(chr(c))]
    plain = _Plain(
        letters=[],
        letters1=[],
        folded_letters=[],
        boundaries=[],
        long_boundaries=[],
        deleted=deleted,
        deleted_marks=marks,
    )
    folded_letters: set[str] = set()
    chars = [chr(c) for low, high in _SCANNED_BLOCKS for c in range(low, high + 1)]
    # One call folds them all: NUL is a boundary that composes with nothing on either side.
    for char, folded in zip(chars, normalize("\0".join(chars)).split("\0"), strict=True):
        if not folded or not _folds_alone(char):
            continue
        if WORD_RE.fullmatch(folded):
            plain.letters.append(ord(char))
            folded_letters.update(folded)
            if len(folded) == 1:
                plain.letters1.append(ord(char))
        elif WORD_RE.search(folded) is None:
            plain.boundaries.append(ord(char))
            if len(folded) > 1:
                plain.long_boundaries.append(ord(char))
    plain.folded_letters.extend(sorted(map(ord, folded_letters)))
    return plain


def _char_class(codes: list[int]) -> str:
    """The inside of a regex ``[...]`` matching exactly ``codes``."""
    runs: list[list[int]] = []
    for code in sorted(codes):
        if runs and runs[-1][1] == code - 1:
            runs[-1][1] = code
        else:
            runs.append([code, code])
    return "".join(
        re.escape(chr(low)) + ("" if low == high else "-" + re.escape(chr(high)))
        for low, high in runs
    )


@dataclass(frozen=True, slots=True)
class _PlainPatterns:
    """The regexes over plain characters that ``plain_fold`` and ``plain_word_spans`` use.

    Each text class holds the one before, so a text is only scanned once by them all.
    """

    aligned_short_text: re.Pattern[str]  # letters folding into one, short boundaries
    aligned_text: re.Pattern[str]  # and boundaries folding into several
    plain_text: re.Pattern[str]  # and letters folding into several, removed characters
    long_boundary: re.Pattern[str]
    # in a folded plain text, the boundaries beyond ASCII (ASCII goes through a byte table)
    folded_non_ascii_boundary: re.Pattern[str]
    # a word of a plain text: letters, with removed characters between them, and the marks
    # that follow its last letter (``_origins`` puts them in that letter's cluster)
    word: re.Pattern[str]


@functools.cache
def _patterns() -> _PlainPatterns:
    plain = _plain()
    letter = _char_class(plain.letters)
    letter1 = _char_class(plain.letters1)
    removed = _char_class(plain.deleted)
    short_boundary = _char_class(sorted(set(plain.boundaries) - set(plain.long_boundaries)))
    long_boundary = _char_class(plain.long_boundaries)
    return _PlainPatterns(
        aligned_short_text=re.compile(f"[{letter1}{short_boundary}]*"),
        aligned_text=re.compile(f"[{letter1}{short_boundary}{long_boundary}]*"),
        plain_text=re.compile(f"[{letter}{short_boundary}{long_boundary}{removed}]*"),
        long_boundary=re.compile(f"[{long_boundary}]"),
        folded_non_ascii_boundary=re.compile(f"[^{_char_class(plain.folded_letters)}\0-\x7f]"),
        word=re.compile(
            f"[{letter}](?:[{letter}{removed}]*[{letter}])?[{_char_class(plain.deleted_marks)}]*"
        ),
    )


_ASCII_NON_WORD = bytes(c for c in range(128) if not chr(c).isalnum())
_ASCII_FOLD = bytes.maketrans(
    _ASCII_NON_WORD + string.ascii_uppercase.encode(),
    b" " * len(_ASCII_NON_WORD) + string.ascii_lowercase.encode(),
)


def words(text: str) -> list[str]:
    """The folded words of ``text``, in order (the fast path, without offsets)."""
    plain = plain_fold(text)
    return plain[0].split() if plain is not None else split_folded(normalize(text))


def split_folded(folded: str) -> list[str]:
    """The words of an already folded text."""
    return WORD_RE.findall(folded)


def index_text(text: str) -> str:
    """Folded words joined by single spaces: what the full-text index stores and searches."""
    return " ".join(words(text))


def plain_fold(text: str) -> tuple[str, bool] | None:
    """For a plain text, its folding with every boundary character turned into a space,
    and whether that folding is aligned: as long as ``text``, character for character.

    Plain: only plain characters (see ``_folds_alone``), which fold one by one into word
    characters only, into no word character, or into nothing; the words are then what
    ``split()`` gives — without a per-chunk regex. Aligned: no character is removed and
    no letter folds into more than one. ``None`` for other texts.
    """
    if text.isascii():  # a byte table is many times faster than the regexes
        return text.encode("ascii").translate(_ASCII_FOLD).decode("ascii"), True
    patterns = _patterns()
    short = patterns.aligned_short_text.match(text)
    end = short.end() if short is not None else 0  # (a "*" always matches)
    if end == len(text):
        aligned, long_boundaries = True, False
    elif patterns.aligned_text.fullmatch(text, end) is not None:
        aligned, long_boundaries = True, True
    elif patterns.plain_text.fullmatch(text, end) is not None:
        aligned, long_boundaries = False, False  # the spaces they fold into are no matter
    else:
        return None
    if len(text) <= _FOLD_SLICE:
        return _fold_plain(text, long_boundaries), aligned
    # Each character folds alone, so a long text folds a slice at a time: whole, the case
    # folding's buffer (12 bytes a character) and the copies made 72 MB of transient for a
    # 5-million-character Arabic body (issue 22)
    slices = range(0, len(text), _FOLD_SLICE)
    return "".join(_fold_plain(text[i : i + _FOLD_SLICE], long_boundaries) for i in slices), aligned


_FOLD_SLICE = 1 << 18  # characters of a long plain text folded at once


def _fold_plain(text: str, long_boundaries: bool) -> str:
    patterns = _patterns()
    if long_boundaries:  # "…" would fold into three boundaries: it becomes one
        text = patterns.long_boundary.sub(" ", text)
    # a byte table for the commonest boundaries (in UTF-8, an ASCII byte is a character)
    folded = normalize(text).encode().translate(_ASCII_FOLD).decode()
    return patterns.folded_non_ascii_boundary.sub(" ", folded)


def plain_word_spans(text: str, count: int | None = None) -> list[tuple[int, int]]:
    """``word_spans`` of a text that ``plain_fold`` accepts, by one regex over ``text``.

    Each word of such a text is a run of letters and removed characters, from its first
    letter to its last and the marks after it: where ``tokenize`` puts its span.
    """
    found = _patterns().word.finditer(text)
    return [m.span() for m in (found if count is None else islice(found, count))]


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
