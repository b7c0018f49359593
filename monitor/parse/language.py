"""A release's language from its text, for sources and feeds that declare none.

``detect(text)`` gives an ISO 639-1 code (``ar``, ``en``, ``fr``, ...) or None when it is
not sure. It reads at most ``SAMPLE_CHARS`` characters (the title and the start of the
body tell the language; the cost stays bounded whatever the release's size):

1. Letters are counted by script first (the quick path). Too few letters: None.
   Arabic letters ahead of Latin ones: ``ar`` — unless the letters only Persian, Urdu and
   Pashto use (پ چ ژ گ ک ی ے ...) are common, when the identifier chooses among the
   Arabic-script languages. An Arabic release quoting "NATO" stays ``ar``.
2. Otherwise the identifier (py3langid: langid.py's naive Bayes model over byte n-grams,
   97 languages, shipped inside its wheel — nothing is fetched, ever) ranks the languages;
   the best is kept when its probability reaches ``CONFIDENCE``, else None. A short title
   alone ("NATO summit") is usually not enough, and None is the honest answer.

The model is loaded once per process on first use, never at import: it is mapped from a
decompressed copy in the user's cache (``langmodel``: about 0.05 s; only the pages a text
touches are resident). An Arabic-only deployment, or one whose sources all declare their
language, never loads it. Over the corpus' 5,109 items that declare a language (title +
body), 95 % reach the threshold and 98.8 % of those agree with the declaration (most of
the rest are posts in German or Dutch on blogs that declare ``en``); a call costs about
0.3 ms, the Arabic quick path about 30 µs (``bench/bench_reach.py``).

``contradiction(declared, text)`` says, in one line that is the same for every item of a
source, when a declared language is written in another script than the text (a source
saying ``en`` whose items are Arabic): the declaration is kept, the warning tells the
operator to fix it. Languages of one script are not second-guessed (a feed declaring
``en`` that carries a French post is not an error worth a warning).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any, Protocol

SAMPLE_CHARS = 1000  # characters read: enough for a sure answer, whatever the text's size
MIN_LETTERS = 3  # fewer letters than this: no language
CONFIDENCE = 0.5  # the identifier's probability a language needs to be kept
MIXED = 0.8  # share of a text's letters one script needs before it contradicts a declaration
PERSIAN_SHARE = 0.05  # share of Persian/Urdu-only letters that asks the identifier

# runs, not single letters: findall then makes one string per word instead of per letter
_ARABIC = re.compile(r"[\u0620-\u064a\u066e-\u06d3\u06fa-\u06ff\u0750-\u077f]+")
_PERSIAN_URDU = re.compile(
    r"[\u067e\u0686\u0698\u06af\u06a9\u06cc\u0679\u0688\u0691\u06ba\u06d2\u06c1\u06c0]"
)
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]+")
# languages written in the Arabic script, and some common ones written in the Latin
# script: a declaration outside both is never contradicted
ARABIC_SCRIPT = frozenset({"ar", "fa", "ur", "ps", "ku", "ckb", "sd", "ug", "prs", "pnb"})
_LATIN_CODES = "en fr es de it pt nl sv no nb nn da fi et lv lt pl cs sk sl hr bs sq ro hu tr az"
LATIN_SCRIPT = frozenset(
    f"{_LATIN_CODES} id ms tl sw so ha yo ig zu xh af ca gl eu ga cy mt is lb uz tk vi".split()
)
# the identifier's regional labels, as the code an operator writes in a rule
_MACRO = {"arz": "ar", "ary": "ar", "nb": "no", "nn": "no", "uzs": "uz"}

_identifier: Any = None
_loading = threading.Lock()
# called as the model's load starts; what it returns, once it is loaded (a parse worker
# leaves the load out of a body's growth: ``worker.prepare_in_worker``)
load_watch: Callable[[], Callable[[], None]] | None = None


class _Texts(Protocol):
    @property
    def title(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def content(self) -> str: ...


def text_language(declared: str | None, release: _Texts) -> tuple[str | None, str | None]:
    """(language, warning) of a release: the declared one (the feed's, else the source's),
    checked against its text; else the one its text reads as."""
    text = f"{release.title}\n{release.summary[:SAMPLE_CHARS]}\n{release.content[:SAMPLE_CHARS]}"
    if declared:
        return declared, contradiction(declared, text)
    return detect(text), None


def detect(text: str) -> str | None:
    """The language of ``text`` (an ISO 639 code), or None when not sure (module doc)."""
    sample = text[:SAMPLE_CHARS]
    arabic, latin = _letters(sample)
    if arabic + latin < MIN_LETTERS and sum(c.isalpha() for c in sample) < MIN_LETTERS:
        return None
    if arabic and arabic >= latin:
        if len(_PERSIAN_URDU.findall(sample)) < PERSIAN_SHARE * arabic:
            return "ar"
        return _identify(sample, among=ARABIC_SCRIPT) or "ar"
    return _identify(sample)


def contradiction(declared: str, text: str) -> str | None:
    """A one-line warning when ``declared`` is of another script than ``text``, or None."""
    primary = declared.split("-")[0].lower()
    sample = text[:SAMPLE_CHARS]
    arabic, latin = _letters(sample)
    letters = arabic + latin
    if letters < 20:
        return None  # too little text to argue with a declaration
    if primary in LATIN_SCRIPT and arabic >= MIXED * letters:
        found = detect(sample) or "ar"
    elif primary in ARABIC_SCRIPT and latin >= MIXED * letters:
        found = detect(sample) or "a Latin-script language"
    else:
        return None
    return (
        f"language {declared!r} is declared, but the items read as {found!r}; "
        f"kept {declared!r} (correct the source's language: setting or the feed)"
    )


def _letters(sample: str) -> tuple[int, int]:
    """(Arabic, Latin) letters of ``sample``."""
    if sample.isascii():
        # no Arabic; the Latin letters are the bytes left when the others are deleted
        # (one C call; the regex made a string per word: a third of this for a title)
        return 0, len(sample.encode("ascii").translate(None, _NOT_ASCII_LETTERS))
    return sum(map(len, _ARABIC.findall(sample))), sum(map(len, _LATIN.findall(sample)))


_NOT_ASCII_LETTERS = bytes(c for c in range(256) if not chr(c).isascii() or not chr(c).isalpha())


def _identify(sample: str, among: frozenset[str] | None = None) -> str | None:
    model = _model()
    features = _features(model, sample)
    if features is None:  # a model of another make: ask it whole every time
        return _best(model._decide(sample), among)
    key = (features, among)
    if key in _answers:
        return _answers[key]
    answer = _best(_probabilities(model, *features), among)
    if features[1] is None or len(features[1]) <= KEPT_FEATURES:
        with _keeping:  # an in-process pool prepares in a thread
            _answers[key] = answer
            if len(_answers) > ANSWERS_KEPT:
                del _answers[next(iter(_answers))]  # the oldest
    return answer


# The answers by what the identifier reads of a short text: its length in bytes and its
# n-gram counts. Items of one feed often read alike (the 50,000 "NATO 123" items of a
# migrated site read 11,800 ways), and the arithmetic over the model is three quarters of
# a call. At most 8,192 readings of 24 n-grams at most are kept: under 20 MB.
ANSWERS_KEPT = 8192
KEPT_FEATURES = 24
_answers: dict[tuple[Any, frozenset[str] | None], str | None] = {}
_keeping = threading.Lock()
_Features = tuple[int, tuple[tuple[int, int], ...] | None]


def _features(model: Any, sample: str) -> _Features | None:
    """What py3langid's ``_decide`` reads of ``sample`` (its steps, as 0.4 takes them)."""
    try:
        encoded = model._encode(sample)
        visits = _visit_counts(model.tk_nextmove, model._rowbase, model.tk_output, encoded)
    except AttributeError:
        return None
    # in the order met: the sum over them is in float32, whose rounding depends on order
    return len(encoded), tuple(visits.items()) if visits else None


def _visit_counts(moves: Any, rowbase: Any, output: Any, text: bytes) -> dict[int, int] | None:
    """py3langid 0.4's ``visit_counts``: the model's DFA walked over the text's bytes, and
    how often each feature was met, in the order first met. Counted in a dict as it goes,
    not a list handed to ``Counter``: half the time (a call per item, 7 against 13 us)."""
    state = 0
    counts: dict[int, int] = {}
    seen = counts.get
    for letter in text:
        state = moves[rowbase[state] + letter]
        feature = output[state]
        if feature >= 0:
            counts[feature] = seen(feature, 0) + 1
    return counts or None


def _probabilities(model: Any, length: int, visits: tuple[tuple[int, int], ...] | None) -> Any:
    """py3langid 0.4's ``_decide`` (normalised) from ``_features``: the same arithmetic."""
    import math

    import numpy as np

    if visits:
        scores = model._sparse_score(dict(visits), model.nb_ptc)
    else:
        scores = np.full(len(model.nb_classes), 0.0, dtype=np.float32)
    scores *= 1.0 / math.sqrt(length or 1)
    np.exp(scores - scores.max(), out=scores)
    scores /= scores.sum()
    for i, j in model._alias_pairs:
        scores[i] += scores[j]
        scores[j] = 0.0
    return scores


def _best(probabilities: Any, among: frozenset[str] | None) -> str | None:
    import numpy as np

    model = _model()
    codes, column_code = _codes(model)
    # the identifier's probability per model column (``rank`` pairs and sorts all of them on
    # every call, then this summed them in Python: three quarters of the cost, 2.5 s for a
    # feed of 50,000 items), summed per code (regional labels with their language)
    scores = np.bincount(column_code, weights=probabilities, minlength=len(codes))
    if among is not None:
        keep = np.fromiter((code in among for code in codes), dtype=bool, count=len(codes))
        if not keep.any():
            return None
        scores = np.where(keep, scores, 0.0)
        total = float(scores.sum()) or 1.0  # probabilities among a few: renormalise first
        best = int(scores.argmax())
        return codes[best] if scores[best] / total >= CONFIDENCE else None
    best = int(scores.argmax())
    return codes[best] if scores[best] >= CONFIDENCE else None


_code_columns: tuple[list[str], Any] | None = None


def _codes(model: Any) -> tuple[list[str], Any]:
    """The distinct codes of the model's columns, and each column's index among them."""
    global _code_columns
    if _code_columns is None:
        import numpy as np

        codes: list[str] = []
        index: dict[str, int] = {}
        columns = []
        for label in model.nb_classes:
            code = _MACRO.get(label, label)
            columns.append(index.setdefault(code, len(codes)))
            if len(codes) < len(index):
                codes.append(code)
        _code_columns = codes, np.asarray(columns, dtype=np.intp)
    return _code_columns


def _model() -> Any:
    global _identifier
    if _identifier is None:
        with _loading:
            if _identifier is None:
                from monitor.parse.langmodel import load_identifier

                loaded = load_watch() if load_watch is not None else None
                _identifier = load_identifier()
                if loaded is not None:
                    loaded()
    return _identifier
