"""MinHash signatures with LSH banding: near-duplicate text in time linear in the collection.

Broder (1997), "On the resemblance and containment of documents": for a random hash ``h`` over the shingle sets
A and B, ``P[min h(A) = min h(B)] = J(A, B) = |A ∩ B| / |A ∪ B|``, so the share of equal positions in two signatures
of ``k`` hashes estimates the Jaccard similarity. Banding (Leskovec, Rajaraman & Ullman, *Mining of Massive
Datasets*, ch. 3.4): cut the signature into ``b`` bands of ``r`` rows; two documents become candidates when any band
is identical, with probability ``1 - (1 - J^r)^b`` — an S-curve with its threshold near ``(1/b)^(1/r)``. Candidates
are then kept only when their estimated Jaccard reaches the threshold asked for.

Shingles are word 5-grams (lower-cased), hashed to 32 bits; the ``k`` hashes are ``(a·x + b) mod (2^61 − 1)``.
"""

from __future__ import annotations

import re
import zlib
from typing import Any

MERSENNE = (1 << 61) - 1
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def shingles(text: str, n: int = 5) -> set[int]:
    words = [w.lower() for w in _WORD.findall(text)]
    if len(words) < n:
        return {zlib.crc32(" ".join(words).encode())} if words else set()
    return {zlib.crc32(" ".join(words[i : i + n]).encode()) for i in range(len(words) - n + 1)}


class MinHasher:
    def __init__(self, num_perm: int = 128, seed: int = 1) -> None:
        import numpy as np

        rng = np.random.default_rng(seed)
        self.num_perm = num_perm
        self.a = rng.integers(1, 1 << 31, num_perm, dtype=np.uint64)
        self.b = rng.integers(0, 1 << 31, num_perm, dtype=np.uint64)

    def signature(self, shingle_set: set[int]) -> Any:
        import numpy as np

        x = np.fromiter(shingle_set, dtype=np.uint64, count=len(shingle_set))
        if len(x) == 0:
            return np.full(self.num_perm, MERSENNE, dtype=np.uint64)
        # a < 2^31 and x < 2^32, so a·x + b < 2^64: no overflow before the modulus
        return ((np.outer(x, self.a) + self.b) % np.uint64(MERSENNE)).min(axis=0)


def estimate(sig_a: Any, sig_b: Any) -> float:
    """Estimated Jaccard similarity: the share of equal signature positions."""
    return float((sig_a == sig_b).mean())


def near_duplicate_pairs(texts: dict[str, str], threshold: float = 0.8, bands: int = 32,
                         min_words: int = 20) -> list[tuple[str, str, float]]:
    """``(id, id, estimated Jaccard)`` for every pair at or above ``threshold``. Texts under ``min_words`` words are
    left out (a short note matches too much by chance)."""
    hasher = MinHasher()
    rows = hasher.num_perm // bands
    sigs: dict[str, Any] = {}
    for iid, text in texts.items():
        if len(_WORD.findall(text[:20_000])) >= min_words:
            sigs[iid] = hasher.signature(shingles(text))
    buckets: dict[tuple[int, bytes], list[str]] = {}
    for iid, sig in sigs.items():
        for band in range(bands):
            buckets.setdefault((band, sig[band * rows : (band + 1) * rows].tobytes()), []).append(iid)
    seen: set[tuple[str, str]] = set()
    out: list[tuple[str, str, float]] = []
    for ids in buckets.values():
        for i in range(len(ids)):
            for j in range(i + 1, len(ids)):
                pair = (ids[i], ids[j]) if ids[i] < ids[j] else (ids[j], ids[i])
                if pair in seen:
                    continue
                seen.add(pair)
                sim = estimate(sigs[pair[0]], sigs[pair[1]])
                if sim >= threshold:
                    out.append((pair[0], pair[1], sim))
    return out
