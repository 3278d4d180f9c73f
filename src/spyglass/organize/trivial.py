"""Trivial documents: too small or too empty for two of them to be "copies" anyone made.

Byte-identical files are often not copies at all: ``[]`` and ``{}`` written by a tool, an empty ``__init__.py``, a
blank page, a 1×1 tracking pixel. Calling them duplicates buries the real copies. A document is trivial when

* it has fewer than ``min_bytes`` bytes, or
* it is a text-like document (plain text, code, JSON, YAML, CSV, XML, HTML, a mail message, a chat day: the bytes are
  the text) whose indexed text has fewer than ``min_words`` words with a letter in them (``[]``, ``null``, ``0,0,0``
  have none), or
* it is an image of fewer than ``min_pixels`` pixels, or a flat one: its 64-bit difference hash has fewer than
  ``min_edges`` bits set (a blank or single-colour picture, which every other blank picture matches).

Other documents (PDF, office files, archives, audio) are judged by their size only: a scanned page without OCR has
no text and is still a real copy. A document inside a container with no recorded size is judged by its text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_WORD = re.compile(r"\w*[^\W\d_]\w*", re.UNICODE)
TEXT_TYPES = frozenset("text markdown code json yaml csv xml html email chat".split())


@dataclass(frozen=True)
class TrivialRule:
    min_bytes: int = 64
    min_words: int = 3
    min_pixels: int = 32 * 32
    min_edges: int = 4

    def image(self, f: dict[str, Any]) -> bool:
        w, h = f.get("width"), f.get("height")
        if w and h and int(w) * int(h) < self.min_pixels:
            return True
        return bool(f.get("dhash")) and bin(int(f["dhash"], 16)).count("1") < self.min_edges

    def text(self, text: str | None) -> bool:
        """True for an indexed text with too few words (None: nothing indexed, not judged)."""
        if text is None:
            return False
        return sum(1 for _ in zip(range(self.min_words), _WORD.finditer(text[:20_000]))) < self.min_words

    def __call__(self, f: dict[str, Any], text: str | None = None) -> bool:
        """``text``: the document's indexed text, when the caller has it (None: not judged by words)."""
        size = int(f.get("size") or 0)
        if size < self.min_bytes and not (f.get("parent_id") and size == 0):
            return True
        if f.get("type") == "image":
            return self.image(f)
        return f.get("type") in TEXT_TYPES and self.text(text)
