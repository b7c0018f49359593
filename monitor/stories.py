"""Stories: recognising a copy of a release (SPEC section 4).

A release — of another source, or of the same source under a new identity (a re-post
under a new URL) — is a copy when its body (title excluded, at least ``MIN_WORDS`` words)
has a Jaccard similarity of at least ``THRESHOLD`` over 4-word shingles of normalised text
(``monitor.rules.normalize.words``, the folding rules use) with a release first seen in the
last 7 days. Translations share no shingles, so they stay apart.

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

Hashing (``SIGNATURE_VERSION`` 2) is stable across processes, runs and machines (never
``hash()``, which is salted per process); all 64-bit arithmetic wraps mod 2^64:

- a word: sum c_j·K^j over its UTF-8 bytes c_j and the space that ends it in the joined
  text, K = 0x9E3779B185EBCA87 (odd; xxHash64's first prime), then the splitmix64
  finaliser (a bijection that spreads every input bit over the output). All the words of
  a body at once, in a few numpy passes over its bytes: cheaper than one blake2b per
  distinct word found through a dict.
- a shingle: w0·K^3 + w1·K^2 + w2·K + w3 over its word hashes, then the finaliser again.
  The coefficients are odd, so changing one word always changes the value; otherwise two
  distinct shingles (the same words in another order included) collide with probability
  about 2^-64.
- MinHash: h_i(x) = (a_i·x + b_i) mod 2^32 over the shingle hash folded to 32 bits, with
  odd 32-bit a_i and b_i derived from blake2b of fixed labels; all 128 h_i over all the
  shingles of a body at once, as one (128, n) uint32 array.
- a band key: blake2b of its 5 values, labelled ``monitor-band-v2`` so that no key can
  equal a version-1 key still stored.

numpy is imported on first use: a process that never shingles never loads it. A 2 KB body
costs about 0.1 ms beyond folding its words (``signature_of_words`` takes words already
folded). Signatures depend on the normalisation: changing ``normalize`` means recomputing
stored bands (``SIGNATURE_VERSION``).

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
   7 days, of any source (R itself excepted); load their shingles, keep those with
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
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from monitor.rules.normalize import words

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

MIN_WORDS = 50  # bodies shorter than this never join a story
# words of a body its story signature (LSH bands) is computed from: copies are found by
# their first 20,000 words (a long report's), whatever follows (a body can be 10 MB)
MAX_STORY_WORDS = 20_000
THRESHOLD = 0.8  # exact Jaccard over shingles
SHINGLE_WORDS = 4
NUM_PERM = 128
BANDS = 25
ROWS = 5
SIGNATURE_VERSION = 2  # bump when normalisation, hashing or banding changes

_MASK32 = (1 << 32) - 1
_BAND_PERSON = b"monitor-band-v2"
# K of the word and shingle polynomials: odd (so invertible mod 2^64), the xxHash64 prime 1
_FACTOR = 0x9E3779B185EBCA87
_INVERSE = pow(_FACTOR, -1, 1 << 64)
_CHUNK = 4096  # shingles per MinHash block: a (128, 4096) uint32 block is 2 MB
_CACHED_POWERS = 1 << 17  # longest text, in bytes, whose power tables are cached (1 MB each)
_BAND_HASH = hashlib.blake2b(digest_size=8, person=_BAND_PERSON)


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
    return signature_of_words(words(body))


def signature_of_words(found: Sequence[str]) -> StorySignature | None:
    """``signature`` of a body already folded into words (``monitor.rules.normalize.words``).

    A word containing a space (``words`` never gives one) raises ``ValueError``.
    """
    if len(found) < MIN_WORDS:
        return None
    hashes = _shingle_hashes(found)
    return StorySignature(frozenset(hashes.tolist()), _bands_of_hashes(hashes))


def bands_of_words(found: Sequence[str]) -> tuple[str, ...] | None:
    """Only the band keys of ``signature_of_words`` (the parse workers store nothing else:
    building the shingle set would be wasted there)."""
    if len(found) < MIN_WORDS:
        return None
    return _bands_of_hashes(_shingle_hashes(found))


def _bands_of_hashes(hashes: NDArray[np.uint64]) -> tuple[str, ...]:
    values = _minhash_of(hashes)[: BANDS * ROWS].astype(">u4").tobytes()
    return tuple(_band_keys_of(values))


def shingles(text: str) -> frozenset[int]:
    """4-word shingles of the normalised words of ``text``, as stable 64-bit hashes."""
    return shingles_of_words(words(text))


def shingles_of_words(found: Sequence[str]) -> frozenset[int]:
    """``shingles`` of a text already folded into words."""
    if len(found) < SHINGLE_WORDS:
        return frozenset()
    return frozenset(_shingle_hashes(found).tolist())


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

    h_i(x) = (a_i·x + b_i) mod 2^32, x the 64-bit shingle hash folded to 32 bits.
    """
    import numpy as np

    values = np.fromiter(sh, dtype=np.uint64, count=len(sh))
    return tuple(_minhash_of(values, num_perm).tolist())


def band_keys(signature: Sequence[int], bands: int = BANDS, rows: int = ROWS) -> list[str]:
    """One key per band: ``"07:1a2b3c4d5e6f7081"`` (band index, hash of its rows)."""
    if bands * rows > len(signature):
        raise ValueError(f"{bands}×{rows} bands need {bands * rows} values, got {len(signature)}")
    return _band_keys_of(b"".join(v.to_bytes(4, "big") for v in signature), bands, rows)


def encode_shingles(sh: frozenset[int]) -> bytes:
    """A compact, canonical byte form for the database (sorted 8-byte values)."""
    return b"".join(v.to_bytes(8, "big") for v in sorted(sh))


def decode_shingles(data: bytes) -> frozenset[int]:
    if len(data) % 8:
        raise ValueError("stored shingles are not a multiple of 8 bytes")
    return frozenset(int.from_bytes(data[i : i + 8], "big") for i in range(0, len(data), 8))


def _shingle_hashes(found: Sequence[str]) -> NDArray[np.uint64]:
    """One 64-bit hash per shingle (``len(found) - 3`` of them, duplicates included)."""
    import numpy as np

    w = _word_hashes(found)
    n = len(found) - SHINGLE_WORDS + 1
    x = w[:n] * np.uint64(_FACTOR)  # Horner: w0·K^3 + w1·K^2 + w2·K + w3
    for offset in range(1, SHINGLE_WORDS):
        x += w[offset : offset + n]
        if offset < SHINGLE_WORDS - 1:
            x *= np.uint64(_FACTOR)
    return _mix(x)


def _word_hashes(found: Sequence[str]) -> NDArray[np.uint64]:
    """One 64-bit hash per word, whatever its position: see the module docstring.

    Word i spans bytes s..e of the joined text, its trailing space included. Its sum
    c_s·K^0 + ... + c_e·K^(e-s) is K^-s · (c_s·K^s + ... + c_e·K^e): one product per byte
    and one sum per word over the whole text (K is odd, so K^-1 exists mod 2^64).
    """
    import numpy as np

    text = (" ".join(found) + " ").encode("utf-8", "surrogatepass")
    data = np.frombuffer(text, dtype=np.uint8)
    ends = np.flatnonzero(data == 32)  # UTF-8 never uses byte 32 inside a character
    if len(ends) != len(found):
        raise ValueError("words must not contain spaces")
    starts = np.empty_like(ends)
    starts[0], starts[1:] = 0, ends[:-1] + 1
    sums = np.add.reduceat(_powers(_FACTOR, len(data)) * data, starts)
    return _mix(sums * _powers(_INVERSE, len(data))[starts])


def _powers(base: int, n: int) -> NDArray[np.uint64]:
    """base^0, base^1, ..., base^(n-1) mod 2^64, from a cached table unless n is large."""
    size = 1 << max(12, (n - 1).bit_length())  # a few sizes: a few tables
    return (_cached_powers(base, size) if size <= _CACHED_POWERS else _power_table(base, n))[:n]


@lru_cache(maxsize=8)
def _cached_powers(base: int, size: int) -> NDArray[np.uint64]:
    table = _power_table(base, size)
    table.flags.writeable = False  # shared by every call
    return table


def _power_table(base: int, size: int) -> NDArray[np.uint64]:
    import numpy as np

    table = np.full(size, base, dtype=np.uint64)
    table[0] = 1
    np.multiply.accumulate(table, out=table)
    return table


def _mix(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """splitmix64's finaliser, in place: structured inputs (polynomials of small bytes)
    come out spread evenly over 64 bits, as MinHash's 32-bit folding needs."""
    import numpy as np

    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def _minhash_of(values: NDArray[np.uint64], num_perm: int = NUM_PERM) -> NDArray[np.uint32]:
    """The MinHash of the distinct values in ``values`` (duplicates do not change a min).

    uint32 arithmetic wraps mod 2^32, which is exactly the formula: no 64-bit intermediate
    is needed (in 64 bits a·x + b <= (2^32-1)^2 + 2^32-1 < 2^64 would not overflow either).
    """
    import numpy as np

    a, b = _param_arrays(num_perm)
    folded = ((values >> np.uint64(32)) ^ values).astype(np.uint32)  # keeps the low 32 bits
    if not len(folded):
        return np.full(num_perm, _MASK32, dtype=np.uint32)
    mins = []
    for start in range(0, len(folded), _CHUNK):  # bounded memory for very long bodies
        block = np.multiply.outer(a, folded[start : start + _CHUNK])
        block += b
        mins.append(block.min(axis=1))
    found: NDArray[np.uint32] = mins[0] if len(mins) == 1 else np.minimum.reduce(mins)
    return found


def _band_keys_of(values: bytes, bands: int = BANDS, rows: int = ROWS) -> list[str]:
    """Band keys of MinHash values given as 4-byte big-endian integers."""
    width = 4 * rows
    keys = []
    for band in range(bands):
        digest = _BAND_HASH.copy()  # copying is 3 times faster than a new keyed blake2b
        digest.update(values[band * width : (band + 1) * width])
        keys.append(f"{band:02d}:{digest.hexdigest()}")
    return keys


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
def _param_arrays(num_perm: int) -> tuple[NDArray[np.uint32], NDArray[np.uint32]]:
    """``_params`` as numpy arrays: the a_i as a row, the b_i as a column."""
    import numpy as np

    params = _params(num_perm)
    a = np.array([a for a, _ in params], dtype=np.uint32)
    b = np.array([[b] for _, b in params], dtype=np.uint32)
    a.flags.writeable = b.flags.writeable = False  # shared by every call
    return a, b
