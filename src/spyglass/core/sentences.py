"""Sentence splitting for extractive answers, claim checks and the answer model's training data (rule-based: fast, no
model)."""

from __future__ import annotations

import re

_ABBREV = {"e.g", "i.e", "etc", "vs", "mr", "mrs", "ms", "dr", "prof", "st", "fig", "al", "no", "vol", "approx",
           "inc", "ltd", "jr", "sr", "u.s", "u.k", "cf", "ca", "resp", "eq", "sec", "ch"}
_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])|\n{2,}|\n(?=[-*•]\s)")


def split_sentences(text: str, min_chars: int = 12) -> list[tuple[int, int]]:
    """``(start, end)`` offsets of the sentences of ``text``."""
    out: list[tuple[int, int]] = []
    start = 0
    for m in _END.finditer(text):
        end = m.start()
        word = text[max(start, end - 8):end].rstrip(".!?\"')]").split()
        last = word[-1].lower() if word else ""
        if last.rstrip(".") in _ABBREV or (len(last) == 1 and last.isalpha()):
            continue  # "e.g. This", "J. Smith"
        if end - start >= min_chars or not out:
            out.append((start, end + 1 if end < len(text) and text[end] in ".!?" else end))
            start = m.end()
    if len(text) - start > 0 and text[start:].strip():
        out.append((start, len(text)))
    return [(s + (len(text[s:e]) - len(text[s:e].lstrip())), e) for s, e in out if text[s:e].strip()]


def sentences(text: str) -> list[str]:
    return [text[s:e].strip() for s, e in split_sentences(text)]
