"""Matcher figures: prints numbers, asserts nothing. Run: .venv/bin/python bench/bench_match.py

1. 10,000 generated rules against 10,000 generated releases of about 2 KB (target < 2 s).
2. 1,000 generated rules: throughput in releases per second (target >= 10,000/s).
3. Hit counts of the shipped concepts and SPEC's example rules over the shared corpus
   (../shared/corpus/releases/*.txt and every feed under ../shared/corpus/feeds).

Each rule count runs twice. "pessimistic": one rule in five watches words that occur in
the releases, so nearly every release matches several rules (about 7 with 10,000 rules)
and pays for building hits. "realistic": only a few rules watch words of the releases,
so a few per cent of releases match anything — what real watch rules see in the general
news flow. Each line prints the share of releases that matched at least one rule.
"""

from __future__ import annotations

import random
import sys
import time
from itertools import accumulate
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.errors import MonitorError  # noqa: E402
from monitor.model import Document  # noqa: E402
from monitor.parse.documents import load_documents  # noqa: E402
from monitor.rules.matcher import RuleSpec, compile_rules  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
LATIN = "abcdefghijklmnopqrstuvwxyz"
ARABIC = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
SPEC_RULES = [
    RuleSpec("nato", "NATO", 'NATO OR OTAN OR الناتو OR "حلف شمال الأطلسي"'),
    RuleSpec(
        "cyber", "Cyber", 'cyber* OR "الأمن السيبراني" OR "الدفاع السيبراني" OR "الدفاع الإلكتروني"'
    ),
]


def vocabulary(rng: random.Random, size: int) -> list[str]:
    words = set()
    while len(words) < size:
        alphabet = ARABIC if rng.random() < 0.5 else LATIN
        words.add("".join(rng.choice(alphabet) for _ in range(rng.randint(3, 9))))
    return sorted(words)


def releases(rng: random.Random, vocab: list[str], count: int) -> list[Document]:
    cumulative = list(accumulate(1 / (rank + 1) for rank in range(len(vocab))))  # Zipf-like
    docs = []
    for _ in range(count):
        title = " ".join(rng.choices(vocab, cum_weights=cumulative, k=10))
        body = []
        while sum(len(w) + 1 for w in body) < 1900:
            body.extend(rng.choices(vocab, cum_weights=cumulative, k=20))
        docs.append(Document(title=title, content=" ".join(body)))
    return docs


def rules(rng: random.Random, vocab: list[str], count: int, live: float) -> list[RuleSpec]:
    # Releases use the first 20,000 words (Zipf). A share ``live`` of the rules watches
    # words that occur in them (outside the 2,000 most common); the others watch words
    # that do not occur, but still cost the automaton and the prefilter.
    in_releases, elsewhere = vocab[2_000:20_000], vocab[20_000:]
    specs = []
    for index in range(count):
        a, b, c = rng.sample(in_releases if rng.random() < live else elsewhere, 3)
        shape = index % 5
        query = [
            f"{a} OR {b}",
            f'"{a} {b}" OR {c}',
            f"{a} {b} -{c}",
            f"{a[:5]}* OR {b}",
            f"{a} NEAR/5 {b}",
        ][shape]
        specs.append(RuleSpec(f"r{index}", f"rule {index}", query))
    return specs


def timed_match(
    matcher_rules: list[RuleSpec], docs: list[Document]
) -> tuple[float, float, int, int]:
    start = time.perf_counter()
    matcher = compile_rules(matcher_rules, {})
    compiled = time.perf_counter()
    per_doc = [len(matcher.match(doc)) for doc in docs]
    elapsed = time.perf_counter() - compiled
    return compiled - start, elapsed, sum(per_doc), sum(1 for n in per_doc if n)


def corpus_documents() -> list[tuple[str, Document]]:
    docs: list[tuple[str, Document]] = []
    for path in sorted((CORPUS / "releases").glob("*.txt")):
        docs.extend(load_documents(str(path)))
    failed = 0
    for path in sorted((CORPUS / "feeds").rglob("*")):
        if not path.is_file() or path.name in ("INDEX.tsv", "LICENSE") or "output" in path.parts:
            continue
        try:
            docs.extend(load_documents(str(path)))
        except (MonitorError, ValueError, ImportError):
            failed += 1
    print(f"corpus: {len(docs)} documents ({failed} feed files not parsed)")
    return docs


def main() -> None:
    rng = random.Random(20190313)
    vocab = vocabulary(rng, 60_000)
    docs = releases(rng, vocab[:20_000], 10_000)
    size = sum(len(d.title) + len(d.content) for d in docs) / len(docs)
    print(f"releases: {len(docs)}, mean {size:.0f} characters")
    # the realistic live shares are chosen so that a few per cent of releases match
    # anything; the printed share says what it came to
    for label, count, live in (
        ("pessimistic", 10_000, 0.2),
        ("realistic", 10_000, 0.0007),
        ("pessimistic", 1_000, 0.2),
        ("realistic", 1_000, 0.007),
    ):
        compile_s, match_s, matched, hit_docs = timed_match(rules(rng, vocab, count, live), docs)
        print(
            f"{label:<11} {count:>6} rules: compile {compile_s:.2f} s, match {len(docs)} "
            f"releases {match_s:.2f} s ({len(docs) / match_s:,.0f} releases/s), "
            f"{matched} matches, {hit_docs / len(docs):.1%} of releases matched"
        )

    concepts = yaml.safe_load((ROOT / "config" / "monitor.yaml").read_text())["concepts"]
    shipped = [*SPEC_RULES, *(RuleSpec(f"@{name}", name, f"@{name}") for name in concepts)]
    matcher = compile_rules(shipped, concepts)
    counts = dict.fromkeys((r.id for r in shipped), 0)
    terms: dict[str, dict[str, int]] = {r.id: {} for r in shipped}
    for _, doc in corpus_documents():
        for match in matcher.match(doc):
            counts[match.rule_id] += 1
            for hit in match.hits:
                seen = terms[match.rule_id]
                seen[hit.term] = seen.get(hit.term, 0) + 1
    for rule_id, count in counts.items():
        top = sorted(terms[rule_id].items(), key=lambda kv: -kv[1])[:6]
        print(f"  {rule_id:<16} {count:>4} documents   {top}")


if __name__ == "__main__":
    main()
