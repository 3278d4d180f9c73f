"""Stable identifiers and content hashes."""

from __future__ import annotations

import hashlib


def item_id(*parts: str | bytes) -> str:
    """A 16-hex-digit id derived from its parts (source, path or parent and locator)."""
    h = hashlib.blake2b(digest_size=8)
    for p in parts:
        h.update(p if isinstance(p, bytes) else p.encode("utf-8", "surrogateescape"))
        h.update(b"\0")
    return h.hexdigest()


def content_hasher() -> "hashlib._Hash":
    return hashlib.blake2b(digest_size=16)


def hash_bytes(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()
