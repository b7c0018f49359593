"""Generated email subjects and titles for the header round-trip tests (issue 17.1).

``seed_subjects``: every 12-word window of the real Arabic seed release under the shipped
rule names (``config/monitor.yaml``), one rule and several — the reproduction in which
370 of 1,200 subjects lost a space. ``generated_titles``: Arabic, English and mixed
titles, short and long, with quotes, slashes, brackets, Arabic punctuation, diacritics,
digits, very long words and text that looks like an encoded word; made from a fixed seed,
so every run tests the same table.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterator

import yaml

from tests.conftest import ROOT, SEED_RELEASE

ENGLISH = [
    "The",
    "Deputy",
    "Prime",
    "Minister",
    "and",
    "Minister",
    "of",
    "Foreign",
    "Affairs",
    "met",
    "NATO",
    "Secretary",
    "General",
    "in",
    "Brussels",
    "on",
    "Wednesday",
    "to",
    "discuss",
    "cooperation,",
    "cybersecurity,",
    "counter-terrorism",
    "and",
    "the",
    "situation",
    "in",
    "Afghanistan;",
    "both",
    "sides",
    "stressed",
    "the",
    "importance",
    "of",
    "dialogue",
    "and",
    "regional",
    "stability,",
    "the",
    "Gulf",
    "crisis",
    "and",
    "the",
    "Taliban",
    "talks",
    "hosted",
    "in",
    "Doha.",
]
DECORATIONS = [
    ('"', '"'), ("«", "»"), ("/", "/"), ("(", ")"), ("'", "'"), ("“", "”"), ("[", "]"),
]  # fmt: skip
EXTRAS = [
    "،", "؛", "؟", "-", "–", "2019", "١٤٤٠", "N.A.T.O.", "cyber-attack", "e-mail/الموقع",
    "=?utf-8?q?not_an_encoded_word?=", "a" * 75, "الأمن" * 12, "وَزِيرُ", "ـــالناتوـــ",
    "🇶🇦", "C:\\path", "100%", "x=y?z", "<b>bold</b>", "&amp;", "@here",
]  # fmt: skip


@functools.cache
def rule_names() -> tuple[str, ...]:
    config = yaml.safe_load((ROOT / "config" / "monitor.yaml").read_text(encoding="utf-8"))
    return tuple(rule.get("name") or rule["id"] for rule in config["rules"])


def subject_prefixes() -> list[str]:
    """``[monitor] <rules>: `` for each shipped rule, two of them, and all of them."""
    names = rule_names()
    groups = [[n] for n in names] + [list(names[:2]), list(names)]
    return [f"[monitor] {', '.join(group)}: " for group in groups]


def seed_words() -> list[str]:
    return SEED_RELEASE.read_text(encoding="utf-8").split()


def seed_subjects(window: int = 12, stride: int = 1) -> Iterator[str]:
    words = seed_words()
    for prefix in subject_prefixes():
        for start in range(0, len(words) - window + 1, stride):
            yield prefix + " ".join(words[start : start + window])


def generated_titles(count: int, seed: int = 17) -> Iterator[str]:
    rng = random.Random(seed)
    arabic = seed_words()
    for _ in range(count):
        kind = rng.choice(["arabic", "english", "mixed"])
        size = rng.choice([1, 2, 3, 5, 8, 12, 20, 30, 45])
        words: list[str] = []
        for _ in range(size):
            pool = (
                arabic if kind == "arabic" or (kind == "mixed" and rng.random() < 0.5) else ENGLISH
            )
            word = rng.choice(pool)
            if rng.random() < 0.15:
                left, right = rng.choice(DECORATIONS)
                word = f"{left}{word}{right}"
            if rng.random() < 0.05:
                word = rng.choice(EXTRAS)
            words.append(word)
        yield " ".join(words)


def all_subjects(stride: int = 1, generated: int = 2400) -> list[str]:
    """The seed subjects (every ``stride``-th window) and ``generated`` others, each under a
    shipped prefix."""
    prefixes = subject_prefixes()
    made = [prefixes[i % len(prefixes)] + t for i, t in enumerate(generated_titles(generated))]
    return [*seed_subjects(stride=stride), *made]
