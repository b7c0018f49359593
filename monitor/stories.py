"""Stories: recognising a release copied by another source (SPEC section 4).

A release of another source joins a story when its body (title excluded, at least
``MIN_WORDS`` words) has a Jaccard similarity of at least ``THRESHOLD`` over 4-word shingles
of normalised text (``monitor.rules.normalize.words``, the folding rules use) with a
release first seen in the last 7 days. Translations share no shingles, so they stay apart.

Shingles are hashed with blake2b (stable across runs and machines, unlike ``hash()``).
Candidates are found with MinHash + LSH: ``minhash`` maps a shingle set to 128 values,
``band_keys`` cuts them into 25 bands of 5 rows. Two sets collide in one band with
probability J^5 and in at least one of 25 with P(J) = 1 - (1 - J^5)^25:

    J     0.9   0.85    0.8       0.7     0.6    0.5    0.4    0.3     0.2     0.1
    P(J)  1.0   1.0     0.999951  0.990   0.868  0.548  0.227  0.059   0.008   0.00025

So a copy (J >= 0.8) is a candidate with probability > 0.9999; unrelated releases of one
ministry (J around 0.1, sharing boilerplate) collide 1 time in 4,000. Pairs at 0.5–0.7 are
frequent candidates, which is why the exact Jaccard is always checked on the stored shingle
sets before a release joins a story: LSH only proposes. (With 128 values no banding gives
both > 0.999 at 0.8 and < 0.3 at 0.5: 21×6 gives 0.9983 at 0.8, 32×4 0.87 at 0.5.)

MinHash uses h_i(x) = (a_i·x + b_i) mod 2^32 over each shingle hash folded to 32 bits,
with odd 32-bit a_i and b_i derived from blake2b of fixed labels. Pure Python computes all
128 at once per shingle in 64-bit lanes of one big integer (numpy is not needed): about
0.5 ms for a 2 KB body. Signatures depend on the normalisation: changing ``normalize``
means recomputing stored shingles and bands (``SIGNATURE_VERSION``).

Assigning stories without a race (design note for the store)
-------------------------------------------------------------
Tables: ``story_band(band_key, release_id, first_seen, PRIMARY KEY (band_key, release_id))``
and ``release.story_id`` (+ ``release.shingles``: ``encode_shingles``). A new eligible
release R, in ONE transaction:

1. Lock its bands, in sorted key order: ``INSERT INTO band_lock(band_key) VALUES (:k)
   ON CONFLICT (band_key) DO UPDATE SET band_key = excluded.band_key`` (a no-op update
   that takes the row lock). Two copies share bands, so whichever locks the first shared
   key first goes first; the other waits there until the first commits. Sorted order
   means no deadlock. SQLite: open the transaction with ``BEGIN IMMEDIATE`` (one writer;
   a deferred transaction upgrading to write fails with SQLITE_BUSY instead of waiting).
   PostgreSQL: READ COMMITTED, so statements after the wait see the other's commit.
2. Candidates: releases in ``story_band`` with any of R's keys, ``first_seen`` within
   7 days, of another source; load their shingles, keep those with
   ``jaccard >= THRESHOLD`` (``is_copy``).
3. Story: the story of the earliest-first-seen match (ties: smallest release id) — a
   deterministic rule, so re-running the step gives the same answer; else R's own id.
4. Insert R's ``story_band`` rows and set ``R.story_id``; commit (releases the locks).

Why not ``band_key UNIQUE`` with "a conflict joins the existing story"? (a) Two copies
inserting their bands in different orders each win some bands and lose others; each then
joins the *other's* story: two stories, swapped (and on PostgreSQL, a deadlock, since an
insert waits on the other's uncommitted key). Sorted insertion and deciding only after
all inserts fixes that. (b) A band owned by an unrelated release (a false candidate,
frequent at J 0.5–0.7) is never recorded for R, so a later copy of R that collides with R
only there is missed; a non-unique (band_key, release_id) key keeps every owner. (c) A
band owned by a release older than 7 days must be taken over (``ON CONFLICT DO UPDATE ...
WHERE first_seen < cutoff``) or purged, or it hides the newer release. The band_lock
upsert keeps the constraint doing the serialising while the data table keeps every
release; rows older than 7 days can be purged from both at leisure.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from functools import lru_cache

from monitor.rules.normalize import words

MIN_WORDS = 50  # bodies shorter than this never join a story
THRESHOLD = 0.8  # exact Jaccard over shingles
SHINGLE_WORDS = 4
NUM_PERM = 128
BANDS = 25
ROWS = 5
SIGNATURE_VERSION = 1  # bump when normalisation, hashing or banding changes

_MASK32 = (1 << 32) - 1
_SHINGLE_PERSON = b"monitor-shingle1"
_BAND_PERSON = b"monitor-band-v1"


@dataclass(frozen=True, slots=True)
class StorySignature:
    """What the store keeps per eligible release: its shingles and its LSH band keys."""

    shingles: frozenset[int]
    bands: tuple[str, ...]


def story_body(summary: str, content: str) -> str:
    """The text copies are compared on: the body, title excluded (SPEC section 4)."""
    if content and summary and summary in content:
        return content
    return f"{summary}\n{content}".strip()


def signature(body: str) -> StorySignature | None:
    """Shingles and band keys of a body (title excluded); None under ``MIN_WORDS`` words."""
    found = words(body)
    if len(found) < MIN_WORDS:
        return None
    sh = _shingles_of(found)
    return StorySignature(shingles=sh, bands=tuple(band_keys(minhash(sh))))


def shingles(text: str) -> frozenset[int]:
    """4-word shingles of the normalised words of ``text``, as stable 64-bit hashes."""
    return _shingles_of(words(text))


def _shingles_of(found: list[str]) -> frozenset[int]:
    if len(found) < SHINGLE_WORDS:
        return frozenset()
    return frozenset(
        int.from_bytes(
            hashlib.blake2b(
                " ".join(found[i : i + SHINGLE_WORDS]).encode("utf-8"),
                digest_size=8,
                person=_SHINGLE_PERSON,
            ).digest(),
            "big",
        )
        for i in range(len(found) - SHINGLE_WORDS + 1)
    )


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    """|a ∩ b| / |a ∪ b|; 0.0 when both are empty (empty bodies are not copies)."""
    if not a or not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def is_copy(a: frozenset[int], b: frozenset[int]) -> bool:
    """The exact SPEC test, on shingle sets of eligible bodies."""
    return jaccard(a, b) >= THRESHOLD


def minhash(sh: frozenset[int], num_perm: int = NUM_PERM) -> tuple[int, ...]:
    """``num_perm`` minimum hash values (32-bit) of ``sh``; all 2^32-1 for an empty set.

    h_i(x) = (a_i·x + b_i) mod 2^32, x the 64-bit shingle hash folded to 32 bits. All
    ``num_perm`` values live side by side in one big integer, one 64-bit lane each, so
    every step below is a single C-level operation on all lanes ("SIMD within a register").
    """
    if not sh:
        return (_MASK32,) * num_perm
    packed_a, packed_b, low, guard, one = _packed_params(num_perm)
    current = -1
    for x in sh:
        x = (x >> 32) ^ (x & _MASK32)
        value = (packed_a * x + packed_b) & low  # a_i·x + b_i < 2^64: no lane overflows
        if current < 0:
            current = value
            continue
        diff = (current | guard) - value  # per lane current - value + 2^32: never borrows
        keep_value = ((diff >> 32) & one) * _MASK32  # all ones where current >= value
        current ^= (current ^ value) & keep_value
    lanes = struct.unpack(f"<{2 * num_perm}I", current.to_bytes(8 * num_perm, "little"))
    return lanes[0::2]


def band_keys(signature: tuple[int, ...], bands: int = BANDS, rows: int = ROWS) -> list[str]:
    """One key per band: ``"07:1a2b3c4d5e6f7081"`` (band index, hash of its rows)."""
    if bands * rows > len(signature):
        raise ValueError(f"{bands}×{rows} bands need {bands * rows} values, got {len(signature)}")
    keys = []
    for band in range(bands):
        chunk = signature[band * rows : (band + 1) * rows]
        data = b"".join(v.to_bytes(4, "big") for v in chunk)
        digest = hashlib.blake2b(data, digest_size=8, person=_BAND_PERSON).hexdigest()
        keys.append(f"{band:02d}:{digest}")
    return keys


def encode_shingles(sh: frozenset[int]) -> bytes:
    """A compact, canonical byte form for the database (sorted 8-byte values)."""
    return b"".join(v.to_bytes(8, "big") for v in sorted(sh))


def decode_shingles(data: bytes) -> frozenset[int]:
    if len(data) % 8:
        raise ValueError("stored shingles are not a multiple of 8 bytes")
    return frozenset(int.from_bytes(data[i : i + 8], "big") for i in range(0, len(data), 8))


@lru_cache(maxsize=4)
def _params(num_perm: int) -> tuple[tuple[int, int], ...]:
    """The fixed (a_i, b_i) of the MinHash family: never change them (stored bands)."""
    params = []
    for i in range(num_perm):
        digest = hashlib.blake2b(
            f"minhash {i}".encode(), digest_size=16, person=_BAND_PERSON
        ).digest()
        a = int.from_bytes(digest[:4], "big") | 1  # odd: x -> a·x + b is a bijection mod 2^32
        params.append((a, int.from_bytes(digest[4:8], "big")))
    return tuple(params)


@lru_cache(maxsize=4)
def _packed_params(num_perm: int) -> tuple[int, int, int, int, int]:
    """The a_i and b_i packed in 64-bit lanes, and the lane masks ``minhash`` needs."""

    def lanes(values: list[int]) -> int:
        return int.from_bytes(b"".join(v.to_bytes(8, "little") for v in values), "little")

    params = _params(num_perm)
    return (
        lanes([a for a, _ in params]),
        lanes([b for _, b in params]),
        lanes([_MASK32] * num_perm),  # the low 32 bits of every lane
        lanes([1 << 32] * num_perm),  # a guard bit above every lane's value
        lanes([1] * num_perm),
    )
