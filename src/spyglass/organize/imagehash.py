"""Look-alike images by their perceptual hash (dHash, computed at indexing: :func:`spyglass.extraction.image.dhash_of`).

Krawetz (2013), "Kind of like that": 64 bits that survive resizing, recompression and small edits. Two images are
look-alikes when the Hamming distance of their hashes is small (≤ 10 of 64 bits here).
"""

from __future__ import annotations

LOOKALIKE_BITS = 10


def hamming(a: int, b: int) -> int:
    return bin(a ^ b).count("1")
