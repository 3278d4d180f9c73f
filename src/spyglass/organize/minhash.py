"""MinHash signatures with LSH banding: near-duplicate text in time linear in the collection.

Broder (1997), "On the resemblance and containment of documents": for a random hash ``h`` over the shingle sets
A and B, ``P[min h(A) = min h(B)] = J(A, B) = |A ∩ B| / |A ∪ B|``, so the share of equal positions in two signatures
of ``k`` hashes estimates the Jaccard similarity. Banding (Leskovec, Rajaraman & Ullman, *Mining of Massive
Datasets*, ch. 3.4): cut the signature into ``b`` bands of ``r`` rows; two documents become candidates when any band
is identical, with probability ``1 - (1 - J^r)^b`` — an S-curve with its threshold near ``(1/b)^(1/r)``. Candidates
are then kept only when their estimated Jaccard reaches the threshold asked for.

Shingles are word 5-grams (lower-cased), hashed to 32 bits; the ``k`` hash functions are MurmurHash3's 64-bit
finaliser ``fmix64(x XOR s_i)`` with random seeds ``s_i`` (a linear ``(a·x + b) mod p`` with small ``a`` keeps the
order of ``x`` and biases the estimate upwards — a test checks the estimate against the true Jaccard).
"""

from __future__ import annotations

import re
import zlib
from typing import Any

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
        self.seeds = rng.integers(0, np.iinfo(np.uint64).max, num_perm, dtype=np.uint64, endpoint=True)

    def signature(self, shingle_set: set[int]) -> Any:
        import numpy as np

        x = np.fromiter(shingle_set, dtype=np.uint64, count=len(shingle_set))
        if len(x) == 0:
            return np.full(self.num_perm, np.iinfo(np.uint64).max, dtype=np.uint64)
        k = x[:, None] ^ self.seeds[None, :]
        with np.errstate(over="ignore"):  # multiplication modulo 2^64 is the point
            k ^= k >> np.uint64(33)
            k *= np.uint64(0xFF51AFD7ED558CCD)
            k ^= k >> np.uint64(33)
            k *= np.uint64(0xC4CEB9FE1A85EC53)
            k ^= k >> np.uint64(33)
        return k.min(axis=0)


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
