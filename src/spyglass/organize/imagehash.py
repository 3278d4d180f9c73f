"""Perceptual hash of an image (dHash): look-alike photos without a model.

Krawetz (2013), "Kind of like that": shrink to 9×8 grey pixels and record, for each of the 8×8 neighbours, whether the
left pixel is brighter than the right — 64 bits that survive resizing, recompression and small edits. Two images are
look-alikes when the Hamming distance of their hashes is small (≤ 10 of 64 bits here).
"""

from __future__ import annotations

from pathlib import Path

LOOKALIKE_BITS = 10


def dhash(path: str | Path) -> int | None:
    """The 64-bit dHash, or None when the file is not an image Pillow can read."""
    try:
        from PIL import Image

        with Image.open(path) as im:
            im.seek(0)
            g = im.convert("L").resize((9, 8), Image.Resampling.LANCZOS)
            px = g.tobytes()  # 72 grey bytes, row by row
    except Exception:  # unreadable or not an image: no hash, the caller skips it
        return None
    bits = 0
    for row in range(8):
        for col in range(8):
            bits = (bits << 1) | int(px[row * 9 + col] > px[row * 9 + col + 1])
    return bits


def hamming(a: int, b: int) -> int:
    return bin(a ^ b).count("1")
