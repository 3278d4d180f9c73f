"""Look-alike images by their perceptual hash (dHash, computed at indexing: :func:`spyglass.extraction.image.dhash_of`).

Krawetz (2013), "Kind of like that": 64 bits that survive resizing, recompression and small edits. Two images are
look-alikes when the Hamming distance ``d(a, b) = popcount(a XOR b)`` of their hashes is small: at most
``LOOKALIKE_BITS`` of 64 here (the cut-off measured in docs/organize.md, "Look-alike photos").
"""

from __future__ import annotations

from typing import Any

LOOKALIKE_BITS = 8  # measured: benchmarks/bench_lookalike.py, docs/organize.md


def hamming(a: int, b: int) -> int:
    return bin(a ^ b).count("1")


def _popcount(x: Any) -> Any:
    """Set bits of each uint64 (SWAR popcount)."""
    import numpy as np

    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    with np.errstate(over="ignore"):
        return (x * np.uint64(0x0101010101010101)) >> np.uint64(56)


def distances(query: int, hashes: list[int]) -> list[int]:
    """``d(query, h)`` for every hash (vectorised; equal to :func:`hamming` one by one)."""
    import numpy as np

    if not hashes:
        return []
    x = np.array(hashes, dtype=np.uint64) ^ np.uint64(query)
    return [int(v) for v in _popcount(x)]


def lookalike_pairs(hashes: dict[str, int], max_bits: int = LOOKALIKE_BITS) -> list[tuple[str, str, float]]:
    """``(id, id, 1 − d/64)`` for every pair of images at a distance of at most ``max_bits``."""
    ids = sorted(hashes)
    values = [hashes[i] for i in ids]
    out = []
    for n, a in enumerate(ids[:-1]):
        for m, d in enumerate(distances(values[n], values[n + 1:]), n + 1):
            if d <= max_bits:
                out.append((a, ids[m], 1 - d / 64))
    return out


def nearest(query: int, hashes: dict[str, int], limit: int, max_bits: int = 64) -> list[tuple[str, int]]:
    """The ``limit`` closest images ``(id, distance)`` within ``max_bits``, closest first (ties by id)."""
    ids = list(hashes)
    ranked = sorted((d, i) for d, i in zip(distances(query, [hashes[i] for i in ids]), ids) if d <= max_bits)
    return [(i, d) for d, i in ranked[:limit]]
