"""A release's language from its text (``parse.language``): the script quick path, the
identifier with its threshold, contradictions of a declared language, and bounded cost."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.parse.language import SAMPLE_CHARS, contradiction, detect, text_language
from tests.conftest import ROOT, SEED_RELEASE

SEED = SEED_RELEASE.read_text(encoding="utf-8")

CASES: list[tuple[str, str | None]] = [
    # Arabic script: the quick path (no model)
    ("وزير الخارجية يجتمع مع الأمين العام لحلف الناتو", "ar"),
    ("الناتو NATO حلف شمال الأطلسي", "ar"),  # Arabic with a Latin acronym stays Arabic
    (SEED, "ar"),
    ("وَزِيرُ الخَارِجِيَّةِ", "ar"),  # harakat are not letters that change anything
    # Persian and Urdu: their own letters send the text to the identifier
    ("وزیر امور خارجه ایران با سفیر فرانسه در تهران دیدار و گفتگو کرد", "fa"),
    ("وزیر خارجہ نے پاکستان کے سفیر سے ملاقات کی اور دو طرفہ تعلقات پر بات چیت کی", "ur"),
    # Latin script: the identifier, not "en" for every Latin text
    ("The Minister of Foreign Affairs met the NATO Secretary General in Brussels today.", "en"),
    ("Le ministre des Affaires étrangères a rencontré le secrétaire général de l'OTAN.", "fr"),
    ("El ministro de Asuntos Exteriores se reunió con el secretario general de la OTAN.", "es"),
    ("Der Außenminister traf heute in Brüssel den Generalsekretär der NATO.", "de"),
    ("Dışişleri Bakanı bugün Brüksel'de NATO Genel Sekreteri ile görüştü.", "tr"),
    # other scripts
    ("Министр иностранных дел встретился с генеральным секретарём НАТО в Брюсселе.", "ru"),
    # not sure, or nothing to go on
    ("NATO summit", None),  # a short title: below the threshold, honestly unknown
    ("12345 !!! 2019/03/13", None),
    ("", None),
    ("ab", None),
]


@pytest.mark.parametrize(("text", "language"), CASES, ids=[c[0][:40] or "empty" for c in CASES])
def test_detect(text: str, language: str | None) -> None:
    assert detect(text) == language


@pytest.mark.parametrize(
    ("declared", "text", "warned"),
    [
        ("en", SEED, True),  # a source saying en whose items are Arabic
        ("en-GB", SEED, True),
        ("fr", SEED, True),
        ("ar", SEED, False),
        ("fa", SEED, False),  # both Arabic script: not second-guessed
        ("ar", "The Minister of Foreign Affairs met the NATO Secretary General today.", True),
        ("en", "Le ministre des Affaires étrangères a rencontré le secrétaire général.", False),
        ("en", "Minister meets the Secretary General of NATO (الناتو) in Brussels", False),
        ("zh", SEED, False),  # a script we do not judge
        ("en", "الناتو", False),  # too little text to argue with a declaration
    ],
)
def test_contradiction(declared: str, text: str, warned: bool) -> None:
    warning = contradiction(declared, text)
    assert (warning is not None) == warned
    if warning:
        assert f"language {declared!r} is declared" in warning
        assert f"kept {declared!r}" in warning and "\n" not in warning


def test_the_warning_is_the_same_for_every_item_of_a_source() -> None:
    """So a poll's warnings (deduplicated) carry it once, not once per item."""
    items = [SEED, SEED[200:], "وزير الخارجية يستقبل سفير اليابان لدى الدولة وجرى بحث العلاقات"]
    assert len({contradiction("en", text) for text in items}) == 1
    assert contradiction("en", SEED) == (
        "language 'en' is declared, but the items read as 'ar'; kept 'en' "
        "(correct the source's language: setting or the feed)"
    )


@dataclass(frozen=True)
class Texts:
    title: str
    summary: str = ""
    content: str = ""


def test_text_language_keeps_a_declared_language_and_fills_a_missing_one() -> None:
    arabic = Texts("وزير الخارجية يجتمع مع الأمين العام لحلف الناتو", content=SEED)
    assert text_language(None, arabic) == ("ar", None)
    kept, warning = text_language("en", arabic)
    assert kept == "en" and warning is not None
    assert text_language("ar", arabic) == ("ar", None)
    assert text_language(None, Texts("NATO")) == (None, None)


def test_a_huge_text_is_read_only_at_its_start() -> None:
    huge = Texts("Minister meets NATO chief", "x", "The talks covered defence. " * 400_000)
    assert text_language(None, huge) == ("en", None)
    assert detect("The talks covered defence and security. " * 100 + "الناتو " * 10_000) == "en"
    assert len("The talks covered defence and security. " * 100) > SAMPLE_CHARS


def test_the_model_loads_lazily_and_never_for_arabic() -> None:
    code = (
        "import sys\n"
        "from monitor.parse.language import detect\n"
        "assert 'py3langid' not in sys.modules\n"
        "assert detect('وزير الخارجية يجتمع مع الأمين العام لحلف الناتو') == 'ar'\n"
        "assert 'py3langid' not in sys.modules\n"
        "assert detect('The minister met the secretary general of the alliance today.') == 'en'\n"
        "assert 'py3langid' in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_no_text_makes_detect_raise(text: str) -> None:
    found = detect(text)
    assert found is None or (found.isalpha() and found.islower())
    assert contradiction("en", text) is None or "declared" in contradiction("en", text)  # type: ignore[operator]


def _ranked(sample: str, among: frozenset[str] | None) -> str | None:
    """The identifier's answer through its public ``rank``, summed per code in Python (what
    ``_identify`` did before it summed the model's probabilities with numpy)."""
    from monitor.parse.language import _MACRO, CONFIDENCE, _model

    scores: dict[str, float] = {}
    for label, probability in _model().rank(sample):
        code = _MACRO.get(label, label)
        if among is None or code in among:
            scores[code] = scores.get(code, 0.0) + probability
    best = max(scores, key=scores.__getitem__)
    total = sum(scores.values()) if among is not None else 1.0
    return best if scores[best] / (total or 1.0) >= CONFIDENCE else None


@pytest.mark.parametrize("text", [text for text, _ in CASES] + ["NATO 7\nMet NATO.\n"])
def test_summed_scores_give_the_answer_of_rank(text: str) -> None:
    from monitor.parse.language import ARABIC_SCRIPT, _identify

    sample = text[:SAMPLE_CHARS]
    for among in (None, ARABIC_SCRIPT):
        assert _identify(sample, among) == _ranked(sample, among)


def test_answers_kept_for_alike_texts_are_the_identifiers() -> None:
    """The answers ``_identify`` keeps by what the model reads of a text are what the
    model says of each text, asked anew (the arithmetic is py3langid's own)."""
    import numpy as np

    from monitor.parse import language

    model = language._model()
    texts = [f"NATO {i}\nMet NATO.\n" for i in range(300)] + [c for c, _ in CASES] + [SEED[:999]]
    for among in (None, language.ARABIC_SCRIPT):
        for _ in range(2):  # the second time from the kept answers
            for text in texts:
                features = language._features(model, text)
                assert features is not None
                probabilities = model._decide(text)
                assert np.array_equal(language._probabilities(model, *features), probabilities)
                assert language._identify(text, among) == language._best(probabilities, among)
    assert len(language._answers) <= language.ANSWERS_KEPT


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200) | st.sampled_from([c for c, _ in CASES] + [SEED[:999]]))
def test_the_walk_counts_the_features_py3langid_counts(text: str) -> None:
    """``_visit_counts`` (a dict filled as it walks) meets the features ``visit_counts``
    does, as often and in the same order (the scores' float32 sum depends on it)."""
    from py3langid.langid import visit_counts

    from monitor.parse import language

    model = language._model()
    encoded = model._encode(text)
    tables = (model.tk_nextmove, model._rowbase, model.tk_output)
    ours = language._visit_counts(*tables, encoded)
    theirs = visit_counts(*tables, encoded)
    assert (ours and list(ours.items())) == (theirs and list(theirs.items()))


def test_the_mapped_model_answers_as_py3langids_own(tmp_path: Path) -> None:
    """The model mapped from the decompressed cache gives py3langid's probabilities bit for
    bit; the cache is written once, and written again when damaged."""
    import numpy as np
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    from monitor.parse.langmodel import load_identifier

    own = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    mapped = load_identifier(tmp_path)
    (folder,) = tmp_path.iterdir()  # written beside, renamed into place: nothing else left
    assert isinstance(mapped.tk_nextmove, memoryview)
    again = load_identifier(tmp_path)
    texts = [c for c, _ in CASES] + [SEED[i : i + 1000] for i in range(0, len(SEED), 500)]
    texts += ["", "NATO 7\nMet NATO.\n", "x" * 5000, "\x00\ud800 é"]
    for text in texts:
        expected = own._decide(text)
        assert np.array_equal(mapped._decide(text), expected)
        assert np.array_equal(again._decide(text), expected)
    for damage in (b"damaged", b""):
        (folder / "ptc.npy").write_bytes(damage)
        rewritten = load_identifier(tmp_path)
        assert isinstance(rewritten.tk_nextmove, memoryview)
        assert [p.name for p in tmp_path.iterdir()] == [folder.name]
        assert np.array_equal(rewritten._decide(texts[0]), own._decide(texts[0]))


def test_an_unwritable_cache_loads_the_model_as_py3langid_does(tmp_path: Path) -> None:
    from monitor.parse.langmodel import load_identifier

    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    identifier = load_identifier(blocked / "monitor")
    assert not isinstance(identifier.tk_nextmove, memoryview)
    assert identifier.classify("The minister met the secretary general today.")[0] == "en"


def test_a_folder_left_half_written_long_ago_is_removed(tmp_path: Path) -> None:
    import os

    from monitor.parse.langmodel import load_identifier

    stale, recent = tmp_path / ".langid-dead", tmp_path / ".langid-writing"
    for folder in (stale, recent):
        folder.mkdir()
        (folder / "ptc.npy").write_bytes(b"half")
    os.utime(stale, (0, 0))
    load_identifier(tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names[0] == ".langid-writing" and names[1].startswith("langid-") and len(names) == 2


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(max_codepoint=0x7F)) | st.text())
def test_letters_of_ascii_text_are_the_regexes_count(text: str) -> None:
    # the ASCII shortcut (a byte table) against the runs the regexes find
    from monitor.parse.language import _ARABIC, _LATIN, _letters

    regexes = sum(map(len, _ARABIC.findall(text))), sum(map(len, _LATIN.findall(text)))
    assert _letters(text) == regexes
