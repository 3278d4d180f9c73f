"""The order of autocomplete suggestions: what a person named first, what a machine named last.

A suggestion is *titled* when its title is not just its file name (a document title, a mail subject), and
*hash-named* when its file name, without extensions, is an identifier rather than words (hex digests, UUIDs, long
numbers, long mixed letter-digit keys: how exports, caches and data dumps name files). The order is a stable sort on

    key(s) = (hash_named(s) and not titled(s), not titled(s))

so the search's own order holds within each of the three groups: titled, plainly named, hash-named (a hash-named
mail export whose message has a subject shows that subject, so it counts as titled).
"""

from __future__ import annotations

import re
from typing import Any

_HEX = re.compile(r"[0-9a-f]{8,}", re.IGNORECASE)
_DIGITS = re.compile(r"\d{10,}")
_UUID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.IGNORECASE)
_KEY = re.compile(r"[A-Za-z0-9]{16,}")


def is_hash_name(name: str) -> bool:
    """``659daefa21dd8c9054b084b6.json``, ``1099442333440802930.json``, ``21be155fb0c95885.eml.json``: yes;
    ``deadbeef.txt``, ``20240101.txt``, ``IMG_2041.jpg``, ``Quarterly report.pdf``: no."""
    stem = name.rsplit("/", 1)[-1].split(".", 1)[0]
    if _UUID.fullmatch(stem) or _DIGITS.fullmatch(stem):
        return True
    if _HEX.fullmatch(stem) and any(ch.isdigit() for ch in stem) and (len(stem) >= 12 or not stem.isdigit()):
        return True
    return bool(_KEY.fullmatch(stem)) and any(ch.isdigit() for ch in stem) and any(ch.isalpha() for ch in stem)


def is_titled(s: dict[str, Any]) -> bool:
    name = (s.get("path") or "").rsplit("/", 1)[-1]
    title = (s.get("title") or "").strip()
    return bool(title) and title != name


def prefer_titles(suggestions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Titled documents first, then plainly named files, hash-named files last; the given order within each."""
    def key(s: dict[str, Any]) -> tuple[bool, bool]:
        name = (s.get("path") or "").rsplit("/", 1)[-1] or s.get("title") or ""
        return is_hash_name(name) and not is_titled(s), not is_titled(s)

    return sorted(suggestions, key=key)
