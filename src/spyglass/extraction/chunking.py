"""Split a document's segments into passages of at most ``max_words`` words.

Passages never cross a segment (page, slide, sheet) boundary, so every passage has one page. Inside a segment,
paragraphs are packed greedily; a paragraph longer than the budget is cut at sentence ends, then at word
boundaries. Offsets are character positions in ``Extracted.text`` (segments joined by a blank line).
"""

from __future__ import annotations

import re

from spyglass.core.types import Chunk, Segment

_PARA = re.compile(r"\n\s*\n")
_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")
_WORD = re.compile(r"\S+")


def _pieces(text: str, base: int, max_words: int) -> list[tuple[int, int, int]]:
    """(start, end, words) spans of ``text`` (offsets shifted by ``base``) each within ``max_words``."""
    spans: list[tuple[int, int, int]] = []
    pos = 0
    for m in list(_PARA.finditer(text)) + [None]:
        end = m.start() if m else len(text)
        para = text[pos:end]
        if para.strip():
            words = len(_WORD.findall(para))
            if words <= max_words:
                spans.append((base + pos, base + end, words))
            else:
                spans.extend(_split_long(para, base + pos, max_words))
        pos = m.end() if m else len(text)
    return spans


def _split_long(para: str, base: int, max_words: int) -> list[tuple[int, int, int]]:
    out: list[tuple[int, int, int]] = []
    sent_start = 0
    bounds = [m.start() for m in _SENT.finditer(para)] + [len(para)]
    for b in bounds:
        sent = para[sent_start:b]
        n = len(_WORD.findall(sent))
        if n <= max_words:
            out.append((base + sent_start, base + b, n))
        else:  # a run-on "sentence" (tables, logs): cut at word boundaries
            words = list(_WORD.finditer(sent))
            for i in range(0, len(words), max_words):
                group = words[i : i + max_words]
                out.append((base + sent_start + group[0].start(), base + sent_start + group[-1].end(), len(group)))
        sent_start = b
    return out


def chunk_segments(segments: list[Segment], max_words: int = 300) -> list[Chunk]:
    chunks: list[Chunk] = []
    full_pos = 0
    for seg in segments:
        text = seg.text
        spans = _pieces(text, full_pos, max_words)
        cur: list[tuple[int, int, int]] = []
        count = 0

        def flush() -> None:
            nonlocal cur, count
            if cur:
                start, end = cur[0][0], cur[-1][1]
                body = text[start - full_pos : end - full_pos].strip()
                if body:
                    chunks.append(Chunk(len(chunks), body, seg.page, start, end, seg.label))
            cur, count = [], 0

        for span in spans:
            if cur and count + span[2] > max_words:
                flush()
            cur.append(span)
            count += span[2]
        flush()
        full_pos += len(text) + 2  # the "\n\n" that joins segments
    return chunks
