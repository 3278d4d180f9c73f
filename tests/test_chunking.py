"""Chunking, checked against its definition on random input (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from spyglass.core.types import Segment
from spyglass.extraction.chunking import chunk_segments

words = st.text(alphabet="abcXYZ.!? \n", min_size=0, max_size=400)


@settings(max_examples=300, deadline=None)
@given(st.lists(words, min_size=1, max_size=4), st.integers(min_value=1, max_value=40))
def test_chunks_cover_every_word_within_budget_with_true_offsets(texts, max_words):
    segs = [Segment(t, page=i + 1) for i, t in enumerate(texts)]
    chunks = chunk_segments(segs, max_words)
    full = "\n\n".join(texts)
    for c in chunks:
        assert full[c.start : c.end].strip() == c.text
        assert 0 < len(c.text.split()) <= max_words
    # every word of every segment is in exactly one chunk of that segment's page, in order
    for i, t in enumerate(texts):
        got = [w for c in chunks if c.page == i + 1 for w in c.text.split()]
        assert got == t.split()
    assert [c.ord for c in chunks] == list(range(len(chunks)))
