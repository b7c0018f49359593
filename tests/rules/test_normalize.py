"""The one normalisation: folding table, words and offsets into the original text."""

from __future__ import annotations

import pytest

from monitor.rules.normalize import index_text, normalize, tokenize, words

FOLDING = [
    ("NATO", "nato"),
    ("Sécurité", "securite"),
    ("Straße", "strasse"),
    ("e\u0301te\u0301", "ete"),  # decomposed accents
    ("الأَمْنُ", "الامن"),  # harakat
    ("السيبرانـــي", "السيبراني"),  # tatweel
    ("أإآٱ", "اااا"),
    ("مستشفى", "مستشفي"),
    ("مكتبة", "مكتبه"),
    ("ا\u0654", "ا"),  # decomposed hamza seat composes to أ, then folds
    ("ؤ ئ", "ؤ ئ"),  # Lucene leaves these; so do we
    ("١٢٣٤٥٦٧٨٩٠", "1234567890"),
    ("۱۲۳۴۵۶۷۸۹۰", "1234567890"),
    ("\ufe8d\ufedf\ufee8\ufe8e\ufe97\ufeed", "النات" + "و"),  # presentation forms
    ("\ufefb", "لا"),  # lam-alef ligature
    ("ال\u200cناتو", "الناتو"),  # ZWNJ
    ("\u200fالناتو\u200e", "الناتو"),  # bidi marks
    ("\u202bالناتو\u202c \u2067x\u2069", "الناتو x"),
    ("\u061cا\ufeffب\u00adت\u200b", "ابت"),
    ("\u0670", ""),  # dagger alef
]


@pytest.mark.parametrize(("text", "expected"), FOLDING)
def test_folding(text: str, expected: str) -> None:
    assert normalize(text) == expected


# Lucene ArabicNormalizer: every character it handles maps the same way here.
LUCENE = {
    "\u0622": "\u0627",
    "\u0623": "\u0627",
    "\u0625": "\u0627",
    "\u0649": "\u064a",
    "\u0629": "\u0647",
    **dict.fromkeys(["\u0640", *map(chr, range(0x064B, 0x0653))], ""),
}


@pytest.mark.parametrize(("char", "expected"), LUCENE.items())
def test_agrees_with_lucene_arabic_normalizer(char: str, expected: str) -> None:
    assert normalize("ب" + char + "ب") == "ب" + expected + "ب"


WORDS = [
    ('/الناتو/ "الناتو" (الناتو)', ["الناتو", "الناتو", "الناتو"]),
    ("قطر، الناتو؛ لماذا؟", ["قطر", "الناتو", "لماذا"]),
    ("N.A.T.O. cyber-attack", ["n", "a", "t", "o", "cyber", "attack"]),
    ("snake_case", ["snake", "case"]),
    ("Qatar و NATO ٢٠١٩", ["qatar", "و", "nato", "2019"]),  # mixed direction
]


@pytest.mark.parametrize(("text", "expected"), WORDS)
def test_words(text: str, expected: list[str]) -> None:
    assert words(text) == expected
    assert [t.norm for t in tokenize(text)] == expected
    assert index_text(text) == " ".join(expected)


OFFSETS = [
    ("قال: الأَمْنُ مهم", "الأَمْنُ"),
    ("و\ufefbيات", "و\ufefbيات"),
    ("السيبرانـــي!", "السيبرانـــي"),
    ("«ال\u200cناتو»", "ال\u200cناتو"),
    ("x ﷺ y", "ﷺ"),
    ("Sécurité.", "Sécurité"),
]


@pytest.mark.parametrize(("text", "word"), OFFSETS)
def test_offsets_index_the_original_text(text: str, word: str) -> None:
    spans = [text[t.start : t.end] for t in tokenize(text)]
    assert word in spans
