"""Stories: a release and its copies from other sources, by shingles and MinHash bands."""

from __future__ import annotations

import hashlib
import itertools
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor import stories
from monitor.parse.feed import parse_feed
from monitor.parse.identity import derive_all
from monitor.rules.normalize import words
from monitor.stories import (
    BANDS,
    MIN_WORDS,
    NUM_PERM,
    ROWS,
    THRESHOLD,
    StorySignature,
    _params,  # the fixed permutations, to check the fast path
    band_keys,
    decode_shingles,
    encode_shingles,
    is_copy,
    jaccard,
    minhash,
    shingles,
    shingles_of_words,
    signature,
    signature_of_words,
    story_body,
)
from tests.conftest import FEEDS_DIR, SEED_RELEASE
from tests.stories.desk import ENGLISH

ROOT = Path(__file__).resolve().parents[2]


def seed_parts() -> tuple[str, str]:
    lines = SEED_RELEASE.read_text(encoding="utf-8").splitlines()
    return lines[0], "\n".join(lines[1:])


def shared_bands(a: str, b: str) -> set[str]:
    sa, sb = signature(a), signature(b)
    assert sa is not None and sb is not None
    return set(sa.bands) & set(sb.bands)


def test_news_agency_copy_is_the_same_story() -> None:
    _, body = seed_parts()
    # A news agency copy: its own title line and a dateline before the same body.
    agency = "الدوحة /قنا/ قطر والناتو يبحثان تعزيز التعاون\n\nالدوحة في 13 مارس /قنا/ " + body
    a, b = shingles(body), shingles(agency)
    assert jaccard(a, b) >= THRESHOLD
    assert is_copy(a, b)
    assert shared_bands(body, agency)


def test_copy_with_a_paragraph_dropped_and_spelling_folded() -> None:
    _, body = seed_parts()
    paragraphs = [p for p in body.split("\n") if p.strip()]
    # Another site drops the last paragraph and writes ة as ه and أ as ا: still a copy.
    edited = "\n".join(paragraphs[:-1]).replace("ة", "ه").replace("أ", "ا")
    assert is_copy(shingles(body), shingles(edited))
    assert shared_bands(body, edited)


def test_translation_is_a_different_story() -> None:
    _, body = seed_parts()
    assert jaccard(shingles(body), shingles(ENGLISH)) == 0.0
    assert not shared_bands(body, ENGLISH)


def test_unrelated_release_is_a_different_story() -> None:
    _, body = seed_parts()
    paragraphs = [p for p in body.split("\n") if p.strip()]
    half = len(paragraphs) // 2
    first, second = "\n".join(paragraphs[:half]), "\n".join(paragraphs[half:])
    assert jaccard(shingles(first), shingles(second)) < 0.1
    assert not is_copy(shingles(first), shingles(second))


@pytest.mark.parametrize("n_words", [0, 1, 4, 20, MIN_WORDS - 1])
def test_short_bodies_never_join(n_words: int) -> None:
    _, body = seed_parts()
    short = " ".join(body.split()[:n_words])
    assert signature(short) is None  # no bands: nothing can ever collide with it


def test_fifty_words_is_enough() -> None:
    _, body = seed_parts()
    found = words(body)
    assert signature(" ".join(found[:MIN_WORDS])) is not None
    assert signature(" ".join(found[: MIN_WORDS - 1])) is None


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (frozenset(), frozenset(), 0.0),
        (frozenset({1}), frozenset(), 0.0),
        (frozenset({1, 2}), frozenset({1, 2}), 1.0),
        (frozenset({1, 2, 3, 4}), frozenset({1, 2, 3, 5}), 0.6),
        (frozenset({1, 2}), frozenset({3, 4}), 0.0),
    ],
)
def test_jaccard(a: frozenset[int], b: frozenset[int], expected: float) -> None:
    assert jaccard(a, b) == pytest.approx(expected)


def test_shingles_are_normalised_words() -> None:
    assert shingles("حلف شمال الأطلسي الناتو") == shingles("حلفُ  شمالِ الاطلسى، \u200fالناتو!")
    assert shingles("one two three") == frozenset()
    assert len(shingles("a b c d e")) == 2
    assert all(0 <= v < 2**64 for v in shingles("a b c d e"))


@pytest.mark.parametrize("kind", ["random 64-bit, like blake2b", "consecutive integers"])
@pytest.mark.parametrize("j", [0.9, 0.8, 0.5, 0.2])
def test_minhash_estimates_jaccard(kind: str, j: float) -> None:
    rng = random.Random(f"{kind} {j}")
    values = (
        [rng.getrandbits(64) for _ in range(2000)] if kind.startswith("random") else range(2000)
    )
    common = round(2000 * j / (1 + j))  # |a| = |b| = 1000: J = common / (2000 - common)
    a = frozenset(values[:1000])
    b = frozenset(values[:common]) | frozenset(values[1000 : 2000 - common])
    assert jaccard(a, b) == pytest.approx(j, abs=0.001)
    agree = sum(x == y for x, y in zip(minhash(a), minhash(b), strict=True)) / NUM_PERM
    assert abs(agree - j) < 0.15  # 3.5 standard deviations at J = 0.5 (sd = 0.044)
    assert minhash(a) == minhash(frozenset(sorted(a, reverse=True)))


def test_band_layout() -> None:
    sig = minhash(frozenset(range(200)))
    keys = band_keys(sig)
    assert len(keys) == BANDS and BANDS * ROWS <= NUM_PERM
    assert len(set(keys)) == BANDS  # the band index is part of the key
    assert all(k[:2].isdigit() and k[2] == ":" and len(k) == 19 for k in keys)
    with pytest.raises(ValueError, match="need"):
        band_keys(sig[:10])


def test_signatures_are_identical_across_processes_and_hash_seeds() -> None:
    _, body = seed_parts()
    here = signature(body)
    assert here is not None
    code = (
        "import sys; from monitor.stories import signature; "
        "s = signature(sys.stdin.read()); "
        "print(' '.join(s.bands)); print(' '.join(map(str, sorted(s.shingles))))"
    )
    for seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        bands, hashes = subprocess.run(
            [sys.executable, "-c", code],
            input=body,
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            check=True,
        ).stdout.splitlines()
        assert tuple(bands.split()) == here.bands
        assert frozenset(map(int, hashes.split())) == here.shingles


def test_numpy_is_loaded_only_when_needed() -> None:
    # The main process imports monitor.stories at start-up; numpy costs ~100 ms to import.
    code = (
        "import sys, monitor.stories as s; before = 'numpy' in sys.modules; "
        "s.shingles('a b c d e'); print(before, 'numpy' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout.split()
    assert out == ["False", "True"]


def test_golden_band_key() -> None:
    # Stored band keys must never change silently: this pins hashing and permutations.
    text = " ".join(f"word{i}" for i in range(60))
    sig = signature(text)
    assert sig is not None
    assert sig.bands[0] == GOLDEN_FIRST_BAND


GOLDEN_FIRST_BAND = "00:f5f3bbb018696318"  # SIGNATURE_VERSION 2


def test_encode_decode_roundtrip() -> None:
    _, body = seed_parts()
    sh = shingles(body)
    data = encode_shingles(sh)
    assert len(data) == 8 * len(sh)
    assert decode_shingles(data) == sh
    with pytest.raises(ValueError):
        decode_shingles(b"123")


texts = st.lists(
    st.sampled_from(["الناتو", "حلف", "قطر", "NATO", "cyber", "أمن", "2019", "sécurité", "x"]),
    min_size=MIN_WORDS,
    max_size=120,
).map(" ".join)


@settings(max_examples=100, deadline=None)
@given(st.frozensets(st.integers(min_value=0, max_value=2**64 - 1), min_size=1, max_size=60))
def test_minhash_equals_the_plain_formula(sh: frozenset[int]) -> None:
    assert minhash(sh) == reference_minhash(sh)


@settings(max_examples=50, deadline=None)
@given(texts)
def test_band_collisions_are_deterministic(text: str) -> None:
    first = signature(text)
    again = signature(text)
    assert first is not None and again is not None
    assert first == again
    assert band_keys(minhash(first.shingles)) == list(first.bands)
    # Only the set matters, never the order it was built in.
    reordered = frozenset(sorted(first.shingles, reverse=True))
    assert minhash(reordered) == minhash(first.shingles)


# --- A plain-Python reference of SIGNATURE_VERSION 2, written from the module docstring ---

M64 = 2**64 - 1
K = 0x9E3779B185EBCA87


def ref_mix(x: int) -> int:  # splitmix64's finaliser
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & M64
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def ref_word(word: str) -> int:
    data = (word + " ").encode("utf-8", "surrogatepass")
    return ref_mix(sum(c * K**j for j, c in enumerate(data)) & M64)


def reference_shingles(found: list[str]) -> frozenset[int]:
    w = [ref_word(x) for x in found]
    return frozenset(
        ref_mix((w[i] * K**3 + w[i + 1] * K**2 + w[i + 2] * K + w[i + 3]) & M64)
        for i in range(len(w) - 3)
    )


def reference_minhash(sh: frozenset[int]) -> tuple[int, ...]:
    if not sh:
        return (2**32 - 1,) * NUM_PERM
    folded = [(x >> 32) ^ (x & 0xFFFFFFFF) for x in sh]
    return tuple(min((a * x + b) % 2**32 for x in folded) for a, b in _params(NUM_PERM))


def reference_bands(values: tuple[int, ...]) -> tuple[str, ...]:
    return tuple(
        f"{band:02d}:"
        + hashlib.blake2b(
            b"".join(v.to_bytes(4, "big") for v in values[band * ROWS : (band + 1) * ROWS]),
            digest_size=8,
            person=b"monitor-band-v2",
        ).hexdigest()
        for band in range(BANDS)
    )


def reference_signature(text: str) -> StorySignature | None:
    found = words(text)
    if len(found) < MIN_WORDS:
        return None
    sh = reference_shingles(found)
    return StorySignature(sh, reference_bands(reference_minhash(sh)))


def test_signature_equals_the_reference() -> None:
    _, body = seed_parts()
    for text in (body, ENGLISH, "Sécurité  NATO—cyber 2019 " * 20):
        assert signature(text) == reference_signature(text) is not None


@settings(max_examples=50, deadline=None)
@given(texts)
def test_signature_equals_the_reference_on_generated_texts(text: str) -> None:
    assert signature(text) == reference_signature(text)


def test_minhash_of_large_and_empty_sets_equals_the_formula() -> None:
    rng = random.Random("minhash chunks")
    large = frozenset(rng.getrandbits(64) for _ in range(5000))  # more than one block
    assert minhash(large) == reference_minhash(large)
    assert minhash(frozenset()) == reference_minhash(frozenset()) == (2**32 - 1,) * NUM_PERM


def test_long_body_equals_the_reference() -> None:
    # 20,000 words, ~150 KB of text: past the cached power tables and one MinHash block.
    rng = random.Random("long body")
    vocabulary = [*words(seed_parts()[1]), *words(ENGLISH)]
    found = [rng.choice(vocabulary) for _ in range(20_000)]
    sig = signature_of_words(found)
    assert sig is not None
    assert sig.shingles == reference_shingles(found)
    assert sig.bands == reference_bands(minhash(sig.shingles))


def test_signature_of_words_skips_the_folding() -> None:
    _, body = seed_parts()
    for text in (body, ENGLISH, " ".join(body.split()[: MIN_WORDS - 1])):
        assert signature_of_words(words(text)) == signature(text)
        assert shingles_of_words(words(text)) == shingles(text)
    with pytest.raises(ValueError, match="spaces"):
        signature_of_words(["two words", *words(body)])


def test_near_copy_shares_a_band() -> None:
    found = words(seed_parts()[1])[:300]
    original = signature_of_words(found)
    assert original is not None
    for position in (0, 1, 150, 298, 299, *random.Random("positions").sample(range(300), 10)):
        edited = [*found]
        edited[position] = "كلمة"  # one word in 300 replaced
        copy = signature_of_words(edited)
        assert copy is not None
        assert jaccard(original.shingles, copy.shingles) >= 0.95
        assert set(original.bands) & set(copy.bands)


def test_same_words_in_another_order_are_unrelated() -> None:
    # Every text has the same bag of 300 words: only the order tells them apart, so a
    # shingle hash that ignored positions (or mixed them poorly) would collide here.
    found = words(seed_parts()[1])[:300]
    rng = random.Random("shuffles")
    sigs = []
    for _ in range(30):
        rng.shuffle(found)
        sig = signature_of_words(found)
        assert sig is not None
        sigs.append(sig)
    for a, b in itertools.combinations(sigs, 2):
        assert jaccard(a.shingles, b.shingles) < 0.05
        assert not set(a.bands) & set(b.bands)


def test_corpus_releases_share_bands_as_lsh_predicts() -> None:
    # 197 long releases of one real feed: 19,306 pairs, a few of them near copies.
    path = FEEDS_DIR / "kagisearch__fastfeedparser" / "benchmark_data" / "6d28cf55da15a12d"
    releases, _ = derive_all(
        parse_feed(path.read_bytes(), {}, "https://example.org/"), feed_url="https://example.org/"
    )
    sigs = [s for r in releases if (s := signature(story_body(r.summary, r.content)))]
    assert len(sigs) > 150
    low_pairs, low_shared, expected = 0, 0, 0.0
    for a, b in itertools.combinations(sigs, 2):
        j, shared = jaccard(a.shingles, b.shingles), bool(set(a.bands) & set(b.bands))
        if j >= THRESHOLD:
            assert shared  # a copy is missed with probability < 0.0001
        elif j < 0.3:
            low_pairs += 1
            low_shared += shared
            expected += 1 - (1 - j**ROWS) ** BANDS
    assert low_pairs > 19_000
    assert low_shared <= 1 + 3 * expected  # expected: 0.003 here


def test_bands_of_words_are_the_signatures_bands() -> None:
    text = " ".join(f"word{i % 37} term{i % 11}" for i in range(120))
    found = words(text)
    signature = stories.signature_of_words(found)
    assert signature is not None
    assert stories.bands_of_words(found) == signature.bands
    assert stories.bands_of_words(found[: stories.MIN_WORDS - 1]) is None
