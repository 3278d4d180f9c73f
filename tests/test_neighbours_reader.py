"""A reader that reads each candidate sentence between the sentences before and after it (``--reads neighbours``):
its input marks the sentence, its span never leaves the sentence, ``ask`` gives it the neighbours from the sources."""

from __future__ import annotations

from pathlib import Path

import pytest

SQUAD = Path(__file__).resolve().parents[2] / "shared" / "data" / "qa" / "squad2-dev" / "dev-v2.0.json"
needs_squad = pytest.mark.skipif(not SQUAD.is_file(), reason="shared data not found (../shared/data/qa/squad2-dev)")


def test_the_window_marks_the_sentence_between_its_neighbours():
    from spyglass.models.answerer import MARK, window

    sent = "Its chief engineer was Maria Lindqvist."
    assert window("harbour", sent) == ("harbour | " + sent, len("harbour | "))  # a sentence reader: unchanged
    text, lo = window("harbour", sent, ("The crane was rebuilt in 1998.", "She retired in 2004."))
    assert text == f"harbour | The crane was rebuilt in 1998. {MARK[0]}{sent}{MARK[1]} She retired in 2004."
    assert text[lo : lo + len(sent)] == sent
    text, lo = window("", sent, ("", ""))
    assert text == MARK[0] + sent + MARK[1] and lo == len(MARK[0])


def test_long_neighbours_are_cut_at_a_word_keeping_the_words_next_to_the_sentence():
    from spyglass.models.answerer import CONTEXT_CHARS, MARK, window

    before = " ".join(f"b{i:03d}" for i in range(100)) + " near-before."
    after = "near-after " + " ".join(f"a{i:03d}" for i in range(100))
    text, lo = window("t", "S.", (before, after))
    left, right = text[len("t | ") : lo - len(MARK[0])].strip(), text[lo + 2 + len(MARK[1]) :].strip()
    assert left.endswith("near-before.") and right.startswith("near-after")
    assert len(left) <= CONTEXT_CHARS and len(right) <= CONTEXT_CHARS
    assert all(w in before.split() for w in left.split()) and all(w in after.split() for w in right.split())


def test_the_best_span_stays_inside_the_sentence_when_its_end_is_given():
    import numpy as np

    from spyglass.models.answerer import best_span

    offsets = [(0, 0), (0, 3), (4, 8), (9, 12), (13, 18), (19, 24), (0, 0)]  # [CLS] x x | x x [SEP], one segment
    seq = [None, 1, 1, 1, 1, 1, None]
    start = np.array([0, 0, 1, 0, 9, 0, 0], dtype=float)  # the strongest span is tokens 4..5, after the sentence
    end = np.array([0, 0, 2, 0, 0, 9, 0], dtype=float)
    assert best_span(start, end, offsets, seq, 4)[:2] == (13, 24)
    assert best_span(start, end, offsets, seq, 4, hi=12)[:2] == (4, 8)


def test_ask_gives_a_neighbours_reader_the_pieces_around_each_sentence():
    from spyglass.answering.reader import neighbours
    from spyglass.answering.types import Source

    a = Source(1, "d1", "harbour.txt", "/h", "The crane was rebuilt in 1998. Who built it? Maria Lindqvist did. "
                                             "She retired in 2004.")
    b = Source(2, "d2", "other.txt", "/o", "Only one sentence here.")
    ranked = [(0.9, 1, "Maria Lindqvist did.", "harbour"), (0.5, 2, "Only one sentence here.", "other"),
              (0.4, 1, "The crane was rebuilt in 1998.", "harbour"), (0.1, 3, "Not in any source.", "x")]
    assert neighbours([a, b], ranked) == [("The crane was rebuilt in 1998.", "She retired in 2004."), ("", ""),
                                          ("", "Maria Lindqvist did."), ("", "")]  # the question is not a piece


@needs_squad
def test_neighbour_pairs_keep_the_gold_span_and_the_paragraph_order():
    from spyglass.models.answerer import MARK
    from spyglass.training.answer_data import reader_pairs

    pairs = reader_pairs(SQUAD, "train", limit=40)
    pos = [p for p in pairs if p.label]
    assert pos
    for p in pos:
        text, span = p.around()
        assert text[span[0] : span[1]] == p.text[p.span[0] : p.span[1]] and text[span[0] : span[1]] in p.answers
    firsts = [p for p in pairs if not p.prev]
    assert firsts and any(p.next for p in pairs)
    for p in pairs:
        sent = p.text[p.lo :]
        text, _ = p.around()
        head, tail = text.split(MARK[0] + sent + MARK[1])
        assert head.endswith(p.prev[-20:] + " " if p.prev else " | ")
        assert tail.startswith(" " + p.next[:20] if p.next else "")


@needs_squad
def test_a_neighbours_reader_says_so_in_its_file_and_never_quotes_a_neighbour(tmp_path):
    pytest.importorskip("torch", reason="torch is not installed: the training test needs pip install 'spyglass[train]'")
    from spyglass.answering.reader import choose
    from spyglass.answering.types import Source
    from spyglass.core.sentences import sentences
    from spyglass.models.answerer import OnnxReader
    from spyglass.training.pipeline import DataSettings, default_settings, run

    s = default_settings("answerer", "neighbours")
    assert s.max_length == 192
    s.epochs, s.batch_size, s.max_length = 1, 8, 96
    card = run("answerer", tmp_path, DataSettings(squad=SQUAD, max_questions=6, max_val=4), s)
    assert card["data"]["reader_reads"] == "neighbours" and "before and after" in card["data"]["reader_pairs"]
    reader = OnnxReader(str(tmp_path / "reader-int8.onnx"))
    assert reader.reads == "neighbours" and OnnxReader(str(tmp_path / "reader.onnx")).reads == "neighbours"
    long = " ".join(["The old harbour crane, painted red in 1931 by the city of Malmö for its port authority,"] * 3)
    text = f"{long}. Its engineer was Maria. {long}."
    ranked = [(0.5, 1, x, "harbour") for x in sentences(text)]
    src = Source(1, "d", "harbour.txt", "/h", text)
    for q in ("Who was the engineer?", "When was the crane painted?", "Which city painted the crane?"):
        reads = reader.read(q, [x[2] for x in ranked], [x[3] for x in ranked],
                            [("", "")] + [(ranked[k - 1][2], ranked[k + 1][2] if k + 1 < len(ranked) else "")
                                          for k in range(1, len(ranked))])
        assert all(0 <= x.start <= x.end <= len(r[2]) for x, r in zip(reads, ranked))
        a, i, reading = choose(q, [src], ranked, reader)
        assert 0.0 <= a <= 1.0 and 0 <= reading.start <= reading.end <= len(ranked[i][2])
