"""Which copy of a duplicate group to keep: the most complete one, in the best-filed place.

1. **completeness** — pictures by pixel count (``width × height``), then bytes (a same-size picture saved with less
   compression holds more); documents with text by the length of their indexed text; anything else by bytes.
   Values within ``TOLERANCE`` (5 %) of the group's best count as equal: a few characters of difference between two
   encodings of one text are noise, not completeness. Exact copies tie here; a half-size thumbnail or a shortened
   draft never wins.
2. among the copies complete enough, the **best-filed place** (:func:`place_rank`) — a file in a named folder (3)
   over one in an inbox-like folder (Downloads, Desktop, inbox, tmp, backup, …: 2) over one lying in the source's
   root (1) over a document inside a container file — a mail message, chat day or attachment (0), which is not filed
   as a file of its own — over a copy already in the plans' holding folder (−1);
3. a name without a copy mark (``copy of x``, ``x - Copy``, ``x (1)``, ``x copy 2``);
4. the newest (latest modified time), then the shortest path, then the path (a stable choice).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

INBOX_LIKE = frozenset("""downloads download desktop inbox incoming tmp temp scratch unsorted unfiled new-folder
untitled-folder to-sort tosort misc attachments backup backups old copies copy trash""".split())
COPY_MARK = re.compile(r"(^copy of |^copy \(\d+\) of | - copy( \(\d+\))?$|[ _-]copy( ?\d+)?$| ?\(\d+\)$)",
                       re.IGNORECASE)


def folder_key(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "-", name.lower()).strip("-")


def place_rank(f: dict[str, Any], holding_folder: str = "_spyglass_duplicates") -> int:
    """How well a document is filed: 3 meaningful folder, 2 inbox-like folder, 1 the source's root, 0 inside a
    container file, −1 in the holding folder."""
    root = (f.get("source_root") or "").rstrip("/\\")
    path = f.get("path") or ""
    rel = path[len(root) + 1:] if root and path.startswith(root + os.sep) else path
    folders = [p for p in re.split(r"[\\/]+", rel)[:-1] if p]
    if folders and folders[0] == holding_folder:
        return -1
    if f.get("parent_id"):
        return 0
    if not folders:
        return 1
    return 2 if any(folder_key(p) in INBOX_LIKE for p in folders) else 3


def has_copy_mark(path: str) -> bool:
    stem = os.path.splitext(os.path.basename(path))[0]
    return bool(COPY_MARK.search(stem))


TOLERANCE = 0.05


Measure = tuple[str, Callable[[dict[str, Any]], int]]
_PIXELS: Measure = ("larger picture", lambda f: int(f["width"]) * int(f["height"]))
_BYTES: Measure = ("larger file", lambda f: int(f.get("size") or 0))
_TEXT: Measure = ("more text", lambda f: int(f.get("text_chars") or 0))


def _measures(group: list[dict[str, Any]]) -> list[Measure]:
    """What completeness means for this group, most important first."""
    if all(f.get("type") == "image" and f.get("width") and f.get("height") for f in group):
        return [_PIXELS, _BYTES]
    return [_TEXT] if any(f.get("text_chars") for f in group) else [_BYTES]


def _place_key(f: dict[str, Any], holding_folder: str) -> tuple:
    path = f.get("path") or ""
    return (place_rank(f, holding_folder), not has_copy_mark(f.get("name") or "" if f.get("parent_id") else path),
            f.get("modified") or 0, -len(path), path)


def complete_enough(group: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The copies within ``TOLERANCE`` of the most complete one, by each measure in turn."""
    pool = group
    for _, measure in _measures(group):
        best = max(measure(f) for f in pool)
        pool = [f for f in pool if measure(f) >= best * (1 - TOLERANCE)]
    return pool


def choose_keeper(files: list[dict[str, Any]], holding_folder: str = "_spyglass_duplicates") -> dict[str, Any]:
    """The copy to keep among ``files`` (at least one)."""
    return max(complete_enough(files), key=lambda f: _place_key(f, holding_folder))


_PLACES = {3: "in a named folder", 2: "in an inbox-like folder", 1: "in the source's top folder",
           0: "inside a container file", -1: "in the holding folder"}


def keep_reason(kept: dict[str, Any], other: dict[str, Any], holding_folder: str = "_spyglass_duplicates") -> str:
    """Why ``kept`` was chosen over ``other``, in words: the first rule above where they differ."""
    for name, measure in _measures([kept, other]):
        if measure(kept) * (1 - TOLERANCE) > measure(other):
            return name
    a, b = _place_key(kept, holding_folder), _place_key(other, holding_folder)
    if a[0] != b[0]:
        return f"better filed: {_PLACES[a[0]]}, the copy {_PLACES[b[0]]}"
    if a[1] != b[1]:
        return "its name has no copy mark"
    if a[2] != b[2]:
        return "newer"
    return "shorter path"
