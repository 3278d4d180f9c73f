"""Which copy of a duplicate group to keep: the most complete one, in the best-filed place.

Copies are ranked by a key compared element by element (the first difference decides):

1. **completeness** — for images the pixel count ``width × height``, then the bytes; for other documents the length of
   the indexed text, then the bytes. Exact copies tie here (the same bytes), look-alikes and near-duplicates do not:
   a half-size thumbnail never wins over its original, a draft never over the longer final text.
2. **place** (:func:`place_rank`) — a file in a meaningful folder (3) over one in an inbox-like folder (Downloads,
   Desktop, inbox, tmp, backup, …: 2) over one lying in the source's root (1) over a document inside a container
   file — a mail message, chat day or attachment (0), which is not filed as a file of its own — over a copy already
   in the plans' holding folder (−1).
3. **name** — a name without a copy mark (``copy of x``, ``x - Copy``, ``x (1)``, ``x copy 2``) over one with it.
4. the newest (latest modified time), then the shortest path, then the path (a stable choice).
"""

from __future__ import annotations

import os
import re
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


def completeness(f: dict[str, Any]) -> tuple[int, int]:
    """``(pixels or text length, bytes)``: the bigger, the more complete."""
    if f.get("type") == "image" and f.get("width") and f.get("height"):
        return int(f["width"]) * int(f["height"]), int(f.get("size") or 0)
    return int(f.get("text_chars") or 0), int(f.get("size") or 0)


def keep_key(f: dict[str, Any], holding_folder: str = "_spyglass_duplicates") -> tuple:
    """The ranking key of a copy (larger is better)."""
    path = f.get("path") or ""
    return (completeness(f), place_rank(f, holding_folder), not has_copy_mark(path if not f.get("parent_id")
                                                                              else f.get("name") or ""),
            f.get("modified") or 0, -len(path), path)


def choose_keeper(files: list[dict[str, Any]], holding_folder: str = "_spyglass_duplicates") -> dict[str, Any]:
    """The copy to keep among ``files`` (at least one)."""
    return max(files, key=lambda f: keep_key(f, holding_folder))


_PLACES = {3: "in a named folder", 2: "in an inbox-like folder", 1: "in the source's top folder",
           0: "inside a container file", -1: "in the holding folder"}


def keep_reason(kept: dict[str, Any], other: dict[str, Any], holding_folder: str = "_spyglass_duplicates") -> str:
    """Why ``kept`` ranks above ``other``, in words: the first element of :func:`keep_key` where they differ."""
    a, b = keep_key(kept, holding_folder), keep_key(other, holding_folder)
    if a[0] != b[0]:
        return "larger picture" if kept.get("type") == "image" and a[0][0] != b[0][0] else \
            "more text" if a[0][0] != b[0][0] else "larger file"
    if a[1] != b[1]:
        return f"better filed: {_PLACES[a[1]]}, the copy {_PLACES[b[1]]}"
    if a[2] != b[2]:
        return "its name has no copy mark"
    if a[3] != b[3]:
        return "newer"
    return "shorter path"
