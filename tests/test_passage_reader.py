"""A reader that reads whole passages (``spyglass train answerer --reads passage``): where its span lands, which
sentence is quoted, and which part of it is marked."""

from __future__ import annotations

from spyglass.answering.reader import best_in_passages, choose, passage_windows
from spyglass.answering.types import Source
from spyglass.core.sentences import sentences
from spyglass.models.answerer import Reading, logit, sigmoid

TEXT = ("The harbour crane was rebuilt in 1998. Its chief engineer was Maria Lindqvist, who had designed the "
        "lock gates. Lunch is served at noon in the canteen.")


class SpanAt:
    """A stand-in for the passage reader: it 'finds' ``answer`` wherever it occurs in what it reads, with relevance
    ``p``; what is tested here is what the answer pipeline does with a span in a passage."""

    reads = "passage"

    def __init__(self, answer: str, p: float = 0.8) -> None:
        self.answer, self.p, self.seen = answer, p, []

    def read(self, question, texts, titles=None):
        self.seen += list(texts)
        out = []
        for t in texts:
            k = t.find(self.answer)
            out.append(Reading(self.p, k, k + len(self.answer), 5.0, 1.0) if k >= 0 else Reading(0.1, 0, 0, 0.0, 2.0))
        return out


def test_passage_windows_cut_at_sentence_ends_and_keep_every_sentence():
    text = " ".join(f"Sentence number {i} says something about the harbour." for i in range(60))
    wins = passage_windows(text, limit=300)
    assert len(wins) > 5 and all(len(w) <= 300 for _, w in wins)
    assert all(text[o : o + len(w)] == w for o, w in wins)  # offsets point into the text
    assert [s for _, w in wins for s in sentences(w)] == sentences(text)  # no sentence lost or cut
    assert passage_windows("One. Two.") == [(0, "One. Two.")]
    assert passage_windows("") == []


def test_the_span_a_passage_reader_finds_is_quoted_as_its_sentence_with_the_span_marked():
    src = Source(1, "d1", "harbour.txt", "/harbour.txt", TEXT)
    sents = sentences(TEXT)
    ranked = [(0.6, 1, sents[2], "harbour"), (0.5, 1, sents[1], "harbour"), (0.3, 1, sents[0], "harbour")]
    a, i, reading = best_in_passages("Who was the chief engineer?", [src], ranked, SpanAt("Maria Lindqvist"))
    assert ranked[i][2] == sents[1]  # the network preferred another sentence; the reader's span decides
    assert ranked[i][2][reading.start : reading.end] == "Maria Lindqvist"
    assert abs(a - sigmoid(logit(0.8) + logit(0.5))) < 1e-9


def test_a_passage_reader_that_finds_no_span_refuses_and_a_sentence_reader_is_unchanged():
    src = Source(1, "d1", "harbour.txt", "/harbour.txt", TEXT)
    sents = sentences(TEXT)
    ranked = [(0.6, 1, sents[2], "harbour"), (0.5, 1, sents[1], "harbour")]
    assert best_in_passages("Who painted it?", [src], ranked, SpanAt("Picasso")) == (0.0, 0, None)
    reader = SpanAt("Maria Lindqvist")
    reader.reads = "sentence"  # read one sentence at a time, as the packaged reader does
    a, i, _ = choose("Who was the chief engineer?", [src], ranked, reader)
    assert reader.seen == [sents[2], sents[1]] and ranked[i][2] == sents[1]


def test_sources_without_candidates_are_not_read():
    src = Source(1, "d1", "harbour.txt", "/harbour.txt", TEXT)
    other = Source(2, "d2", "other.txt", "/other.txt", "Maria Lindqvist also sails.")
    sents = sentences(TEXT)
    reader = SpanAt("Maria Lindqvist")
    best_in_passages("Who?", [src, other], [(0.5, 1, sents[1], "harbour")], reader)
    assert reader.seen == [TEXT]


def test_a_span_in_the_second_copy_of_a_repeated_sentence_is_marked_in_that_copy():
    text = "The engineer was Maria Lindqvist. The tide was high. The engineer was Maria Lindqvist."
    src = Source(1, "d1", "harbour.txt", "/harbour.txt", text)
    sents = sentences(text)
    assert sents[0] == sents[2]
    ranked = [(0.5, 1, x, "harbour") for x in sents]

    class LastCopy(SpanAt):
        def read(self, question, texts, titles=None):
            k = texts[0].rfind(self.answer)
            return [Reading(0.8, k, k + len(self.answer), 5.0, 1.0)]

    a, i, reading = best_in_passages("Who was the engineer?", [src], ranked, LastCopy("Maria Lindqvist"))
    assert i == 2 and ranked[i][2][reading.start : reading.end] == "Maria Lindqvist"
