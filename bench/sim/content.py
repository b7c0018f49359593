"""What each simulated source serves: its shape (feed kind, language, size) and its items,
derived from (seed, source, item) so nothing but counters is kept per source.

A source ``i`` shows its latest ``size`` items, numbered ``k``; new items push the oldest
out, as a ministry's feed does. Arabic words come from the shared corpus's real release,
English from a list of ministry vocabulary; a few items name NATO (``nato``), the one rule
whose alerts the analysis checks one by one, and no other word does.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from bench.rulegen import TERMS

CORPUS_RELEASE = (
    Path(__file__).resolve().parents[2].parent
    / "shared/corpus/releases/mofa-qa-nato-2019-03-13.ar.txt"
)
NATO_SHARE = 0.08  # of items whose title names NATO
TOPIC_SHARE = 0.15  # of items that name one of the generated rules' words
CYBER_SHARE = 0.05
KINDS = (("rss", 0.45), ("atom", 0.35), ("html", 0.20))
LISTING_SELECT = (
    '{item: "li.news-item", title: "h3", link: "a@href", date: "span.date", summary: "p"}'
)

_ENGLISH = (
    "the minister met ambassador delegation today ministry foreign affairs cooperation "
    "bilateral relations discussed meeting talks agreement signed memorandum development "
    "economic trade investment support council session statement official visit capital "
    "regional security stability peace dialogue region humanitarian assistance aid relief "
    "sanctions embargo ceasefire refugees parliament election summit treaty climate energy "
    "health education infrastructure project partnership conference international envoy "
    "committee report budget reform policy strategy national government people country "
    "efforts welcomed condemned expressed affirmed importance strengthening joint mutual "
    "interest issues latest developments situation crisis conflict negotiations framework "
    "program initiative launched announced received call phone counterpart prime deputy "
    "secretary general united nations organization forum workshop training youth women "
    "water food agriculture industry transport tourism culture heritage sports media press"
)
_ARABIC = (
    "الوزير وزير الخارجية اجتمع سعادة السفير وفد التعاون العلاقات الثنائية بحث اللقاء "
    "المباحثات اتفاقية توقيع مذكرة التنمية الاقتصادية التجارة الاستثمار دعم المجلس جلسة "
    "بيان زيارة رسمية العاصمة المنطقة الأمن الاستقرار السلام الحوار المساعدات الإنسانية"
)
ARABIC_FALLBACK = _ARABIC.split()
# words of the NATO and cyber concepts never occur by chance: only the marked items match
_RESERVED = re.compile(r"ناتو|أطلس|اطلس|سيبر|nato|otan|cyber", re.IGNORECASE)
NATO_WORD = {"en": "NATO", "ar": "الناتو"}
CYBER_PHRASE = {"en": "a cyber attack", "ar": "الأمن السيبراني"}


def _topics() -> dict[str, list[str]]:
    """The generated rules' single words (``bench.rulegen``), by language: an item names one
    now and then (``TOPIC_SHARE``), and the word pools never do, so most releases match no
    rule, as on a real desk, and the alerts stay at a realistic few per hundred releases."""
    words = [t for t in TERMS if not t.endswith("*") and not _RESERVED.search(t)]
    return {
        "ar": [t for t in words if re.match(r"[\u0621-\u064a]", t)],
        "en": [t for t in words if t.isascii()],
    }


TOPICS = _topics()
_TERM_CORES = {t.lower().removeprefix("ال") for t in TERMS if not t.endswith("*")}
_CLITICS = re.compile(r"^(?:[وف]?[بكل]?(?:ال)?|[وف]?لل)")


def _may_match(word: str) -> bool:
    """Whether a rule term could match ``word`` (a proclitic form of it, SPEC 3)."""
    word = word.lower()
    if word in _TERM_CORES or _RESERVED.search(word):
        return True
    for end in range(0, min(len(word), 5)):
        if _CLITICS.fullmatch(word[:end]) and word[end:] in _TERM_CORES:
            return True
    return False


def arabic_words() -> list[str]:
    text = CORPUS_RELEASE.read_text(encoding="utf-8")
    words = {w for w in re.findall(r"[\u0621-\u064a]{3,}", text) if not _may_match(w)}
    return sorted(words) or ARABIC_FALLBACK


def english_words() -> list[str]:
    return [w for w in _ENGLISH.split() if not _may_match(w)]


@dataclass(frozen=True, slots=True)
class Shape:
    kind: str  # rss | atom | html
    lang: str  # ar | en
    size: int  # items shown


@dataclass(frozen=True, slots=True)
class Item:
    title: str
    body: str
    nato: bool


def shapes(seed: int, count: int) -> list[Shape]:
    rng = random.Random(seed)
    kinds, weights = zip(*KINDS, strict=True)
    return [
        Shape(
            rng.choices(kinds, weights)[0], "ar" if rng.random() < 0.4 else "en", rng.randint(5, 50)
        )
        for _ in range(count)
    ]


class Writer:
    """Items and bodies; ``words`` maps a language to its word pool."""

    def __init__(self, seed: int, words: dict[str, list[str]]) -> None:
        self.seed = seed
        self.words = words

    def item(self, source: int, k: int, lang: str) -> Item:
        rng = random.Random((self.seed * 1_000_003 + source) * 1_000_003 + k)
        pool = self.words[lang]
        title = rng.choices(pool, k=rng.randint(6, 11))
        nato = rng.random() < NATO_SHARE
        if nato:
            title.insert(rng.randrange(len(title)), NATO_WORD[lang])
        body = rng.choices(pool, k=rng.randint(55, 90))
        if rng.random() < CYBER_SHARE:
            body.insert(rng.randrange(len(body)), CYBER_PHRASE[lang])
        if rng.random() < TOPIC_SHARE:
            body.insert(rng.randrange(len(body)), rng.choice(TOPICS[lang]))
        return Item(" ".join(title), " ".join(body) + ".", nato)


def link(source: int, k: int) -> str:
    return f"https://ministry{source}.example/news/{k}"


def parse_link(url: str) -> tuple[int, int] | None:
    found = re.fullmatch(r"https://ministry(\d+)\.example/news/(\d+)", url)
    return (int(found[1]), int(found[2])) if found else None


Entry = tuple[int, Item, float]  # (k, item, published: unix seconds)


def render(source: int, shape: Shape, entries: list[Entry], updated: float) -> tuple[bytes, str]:
    """The body and Content-Type of source ``source`` showing ``entries``, newest first."""
    if shape.kind == "rss":
        return _rss(source, shape, entries), "application/rss+xml; charset=utf-8"
    if shape.kind == "atom":
        return _atom(source, shape, entries, updated), "application/atom+xml; charset=utf-8"
    return _html(source, shape, entries), "text/html; charset=utf-8"


def _when(stamp: float) -> datetime:
    return datetime.fromtimestamp(stamp, UTC)


def _rss(source: int, shape: Shape, entries: list[Entry]) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>Ministry {source}</title><link>https://ministry{source}.example/</link>"
        f"<description>News of ministry {source}</description><language>{shape.lang}</language>"
    ]
    for k, item, published in entries:
        url = link(source, k)
        parts.append(
            f"<item><title>{escape(item.title)}</title><link>{url}</link>"
            f'<guid isPermaLink="true">{url}</guid>'
            f"<pubDate>{format_datetime(_when(published))}</pubDate>"
            f"<description>{escape(item.body)}</description></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def _atom(source: int, shape: Shape, entries: list[Entry], updated: float) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{shape.lang}">'
        f"<title>Ministry {source}</title><id>https://ministry{source}.example/</id>"
        f"<updated>{_when(updated).isoformat()}</updated>"
    ]
    for k, item, published in entries:
        url = link(source, k)
        parts.append(
            f"<entry><title>{escape(item.title)}</title><link href={quoteattr(url)}/>"
            f"<id>{url}</id><updated>{_when(published).isoformat()}</updated>"
            f"<summary>{escape(item.body)}</summary></entry>"
        )
    parts.append("</feed>")
    return "".join(parts).encode()


def _html(source: int, shape: Shape, entries: list[Entry]) -> bytes:
    direction = "rtl" if shape.lang == "ar" else "ltr"
    parts = [
        f'<!doctype html><html lang="{shape.lang}" dir="{direction}"><head><meta charset="utf-8">'
        f'<title>Ministry {source}: news</title></head><body><nav><a href="/">Home</a></nav>'
        '<ul class="news">'
    ]
    for k, item, published in entries:
        parts.append(
            f'<li class="news-item"><h3><a href={quoteattr(link(source, k))}>'
            f"{escape(item.title)}</a></h3>"
            f'<span class="date">{_when(published):%Y-%m-%d}</span><p>{escape(item.body)}</p></li>'
        )
    parts.append("</ul><footer>Ministry</footer></body></html>")
    return "".join(parts).encode()
