"""Release texts for the generated archive (``bench.gen_archive``), from the shared corpus.

English: the items of the corpus feeds (title and summary as text, 8,099 of them), each
reused as written. Arabic: the corpus has one Arabic release (the NATO statement), so
Arabic texts are word chains drawn from its bigrams, with the NATO words left out of the
chain — otherwise every Arabic release would be about NATO. Topics (the 20 rules' terms,
in both languages) are put into a share of the releases at set rates, so each rule
matches about as often as a real desk's would (0.1 % to 3 % of the archive).
"""

from __future__ import annotations

import contextlib
import itertools
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
SEED = CORPUS / "releases" / "mofa-qa-nato-2019-03-13.ar.txt"

# (rule id, query, English phrase, Arabic phrase, share of releases carrying the topic)
TOPICS: tuple[tuple[str, str, str, str, float], ...] = (
    ("nato", 'NATO OR الناتو OR "حلف شمال الأطلسي"', "NATO", "حلف شمال الأطلسي الناتو", 0.005),
    ("japan", "Japan OR اليابان", "Japan", "اليابان", 0.01),
    ("climate", '"climate change" OR المناخ', "climate change", "مؤتمر المناخ", 0.015),
    ("cyber", 'cyber* OR "الأمن السيبراني"', "cybersecurity", "الأمن السيبراني", 0.005),
    (
        "energy",
        '"renewable energy" OR "الطاقة المتجددة"',
        "renewable energy",
        "الطاقة المتجددة",
        0.01,
    ),
    ("gaza", "Gaza OR غزة", "Gaza", "غزة", 0.02),
    ("sudan", "Sudan OR السودان", "Sudan", "السودان", 0.01),
    ("afghan", "Afghanistan OR أفغانستان", "Afghanistan", "أفغانستان", 0.005),
    ("un", '"United Nations" OR "الأمم المتحدة"', "the United Nations", "الأمم المتحدة", 0.03),
    ("visa", "visa* OR التأشيرة", "visa", "التأشيرة", 0.005),
    ("health", '"public health" OR "الصحة العامة"', "public health", "الصحة العامة", 0.01),
    ("trade", '"trade agreement" OR "اتفاقية تجارية"', "trade agreement", "اتفاقية تجارية", 0.005),
    ("sanctions", "sanction* OR العقوبات", "sanctions", "العقوبات", 0.0075),
    ("water", '"water security" OR "الأمن المائي"', "water security", "الأمن المائي", 0.0025),
    ("refugees", "refugee* OR اللاجئين", "refugees", "اللاجئين", 0.01),
    ("oil", '"oil prices" OR "أسعار النفط"', "oil prices", "أسعار النفط", 0.005),
    ("ukraine", "Ukraine OR أوكرانيا", "Ukraine", "أوكرانيا", 0.015),
    ("drones", "drone* OR المسيرات", "drones", "المسيرات", 0.0025),
    ("ebola", "Ebola OR إيبولا", "Ebola", "إيبولا", 0.001),
    ("summit", "summit NEAR/5 leaders OR قمة", "summit of leaders", "قمة القادة", 0.015),
)


@dataclass(frozen=True, slots=True)
class Text:
    title: str
    summary: str


def english_items(limit_chars: int = 1500) -> list[Text]:
    """The corpus feeds' items, as text (their HTML read the way the pipeline reads it)."""
    from monitor.parse.feed import parse_feed
    from monitor.parse.text import html_to_text
    from tests.parse.test_corpus import FILES

    out: list[Text] = []
    for path, category in FILES:
        if "not-a-feed" in category:
            continue
        with contextlib.suppress(Exception):  # the corpus holds broken feeds on purpose
            for entry in parse_feed(Path(path).read_bytes(), {}, "https://corpus.example/").entries:
                title = " ".join(entry.title.split())
                summary = html_to_text(entry.summary or entry.content or "")[:limit_chars]
                if title:
                    out.append(Text(title[:300], summary))
    return out


class ArabicChain:
    """Word chains over the seed release's bigrams (the topics' words left out)."""

    def __init__(self, rng: random.Random) -> None:
        # the seed is about NATO (and names Afghanistan and cyber defence): its topic words
        # are left out, so that the topics come only at their set rates
        topical = {"ناتو", "حلف"} | {arabic.split()[-1] for *_, arabic, _share in TOPICS}
        words = [
            w for w in SEED.read_text(encoding="utf-8").split() if not any(t in w for t in topical)
        ]
        self.rng = rng
        self.words = words
        self.next: dict[str, list[str]] = defaultdict(list)
        for a, b in itertools.pairwise(words):
            self.next[a].append(b)

    def words_of(self, count: int) -> str:
        word = self.rng.choice(self.words)
        out = [word]
        for _ in range(count - 1):
            followers = self.next.get(word)
            word = self.rng.choice(followers) if followers else self.rng.choice(self.words)
            out.append(word)
        return " ".join(out)

    def text(self) -> Text:
        rng = self.rng
        return Text(self.words_of(rng.randint(6, 14)), self.words_of(rng.randint(30, 160)))


def with_topic(text: Text, language: str, rng: random.Random) -> Text:
    """``text`` with a topic phrase put in at the topics' rates (most get none)."""
    roll = rng.random()
    for _rule, _query, english, arabic, share in TOPICS:
        if roll < share:
            phrase = arabic if language == "ar" else english
            if rng.random() < 0.5:
                return Text(f"{text.title} {phrase}", text.summary)
            words = text.summary.split(" ")
            at = rng.randint(0, len(words))
            return Text(text.title, " ".join([*words[:at], phrase, *words[at:]]))
        roll -= share
    return text
