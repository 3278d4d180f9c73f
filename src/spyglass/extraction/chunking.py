"""Split a document's segments into passages of at most ``max_words`` words.

Passages never cross a segment (page, slide, sheet) boundary, so every passage has one page. Inside a segment,
paragraphs are packed greedily; a paragraph longer than the budget is cut at sentence ends, then at word
boundaries. No passage is longer than :func:`max_passage_chars` characters: a run without spaces (base64, a minified
file, text in a script without spaces) is cut into pieces of that length, none dropped. Offsets are character
positions in ``Extracted.text`` (segments joined by a blank line).
"""

from __future__ import annotations

import functools
import re

from spyglass.core.types import Chunk, Segment

_PARA = re.compile(r"\n\s*\n")
_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")


@functools.lru_cache(maxsize=8)
def _words_run(n: int) -> re.Pattern[str]:
    """Matches up to ``n`` words (and the space after all but the last) from a position, in one C-level scan."""
    return re.compile(r"\S+(?:\s+\S+){0,%d}" % (n - 1))


def max_passage_chars(max_words: int) -> int:
    """The longest passage in characters: 16 characters a word (prose averages 6), at least 2,000."""
    return max(2000, 16 * max_words)


def _cut_chars(spans: list[tuple[int, int, int]], limit: int) -> list[tuple[int, int, int]]:
    """Spans longer than ``limit`` characters cut into pieces of ``limit`` (each counted as a full passage)."""
    out: list[tuple[int, int, int]] = []
    for start, end, n in spans:
        if end - start <= limit:
            out.append((start, end, n))
            continue
        for s in range(start, end, limit):
            out.append((s, min(end, s + limit), 1 << 30))
    return out


def _cut_words(text: str, base: int, max_words: int) -> list[tuple[int, int, int]]:
    out = []
    pat = _words_run(max_words)
    pos = 0
    while True:
        m = pat.search(text, pos)
        if m is None:
            return out
        out.append((base + m.start(), base + m.end(), len(m.group().split())))
        pos = m.end()


def _split_long(para: str, base: int, max_words: int) -> list[tuple[int, int, int]]:
    out: list[tuple[int, int, int]] = []
    start = 0
    for b in [m.start() for m in _SENT.finditer(para)] + [len(para)]:
        sent = para[start:b]
        n = len(sent.split())
        if n <= max_words:
            if n:
                out.append((base + start, base + b, n))
        else:  # a run-on "sentence" (tables, logs): cut at word boundaries
            out.extend(_cut_words(sent, base + start, max_words))
        start = b
    return out


def _pieces(text: str, base: int, max_words: int) -> list[tuple[int, int, int]]:
    """(start, end, words) spans of ``text`` (offsets shifted by ``base``) each within ``max_words``."""
    spans: list[tuple[int, int, int]] = []
    pos = 0
    for m in [*_PARA.finditer(text), None]:
        end = m.start() if m else len(text)
        para = text[pos:end]
        n = len(para.split())
        if n:
            if n <= max_words:
                spans.append((base + pos, base + end, n))
            else:
                spans.extend(_split_long(para, base + pos, max_words))
        pos = m.end() if m else len(text)
    return spans


def chunk_segments(segments: list[Segment], max_words: int = 300) -> list[Chunk]:
    limit = max_passage_chars(max_words)
    chunks: list[Chunk] = []
    full_pos = 0
    for seg in segments:
        text = seg.text
        cur_start = cur_end = -1
        count = 0

        def flush() -> None:
            if cur_start >= 0:
                body = text[cur_start - full_pos : cur_end - full_pos].strip()
                if body:
                    chunks.append(Chunk(len(chunks), body, seg.page, cur_start, cur_end, seg.label))

        for start, end, n in _cut_chars(_pieces(text, full_pos, max_words), limit):
            if cur_start >= 0 and (count + n > max_words or end - cur_start > limit):
                flush()
                cur_start, count = -1, 0
            if cur_start < 0:
                cur_start = start
            cur_end = end
            count += n
        flush()
        full_pos += len(text) + 2  # the "\n\n" that joins segments
    return chunks
