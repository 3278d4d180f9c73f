"""Extractive answers with Spyglass's trained answer models (:mod:`spyglass.models.answerer`).

1. Every sentence of the retrieved passages that may be quoted (:mod:`spyglass.answering.candidates`) is a
   candidate; the answerability network scores each from its features (:mod:`spyglass.models.answer_features`: the
   MiniLM similarity to the question, idf-weighted question-word coverage, question words and names the sentence
   lacks, the answer type, negation): ``p(s)``.
2. The reader (a fine-tuned MiniLM cross-encoder) reads the ``TOP_READ`` most likely sentences
   (:func:`spyglass.models.answerer.best_answer`) and gives its own
   ``r(s)``. Their answerability is ``a(s) = σ(logit p(s) + logit r(s))``, and ``a* = max_s a(s)``: below
   ``min_answerable`` the answer says the files do not hold it (a refusal rather than a guess); otherwise the answer is
   the argmax sentence, cited. (The network alone learned SQuAD's question style and refused most short questions on a
   real folder; the reader, trained with SQuAD 2.0's "no answer" target, carries over: BENCHMARKS.md.) Without a
   reader, ``a* = max_s p(s)``.
3. The reader's span inside that sentence is the short answer (``Claim.span``), shown highlighted.

A reader file says in its ONNX metadata what it was trained to read (:func:`choose`): each sentence alone (the
packaged one), each sentence marked between the pieces before and after it in its source (``neighbours``, given by
:func:`neighbours`; its span still lies inside the sentence), or each passage whole (:func:`best_in_passages`).
"""

from __future__ import annotations

from typing import Any

from spyglass.answering.candidates import answer_pieces
from spyglass.answering.extractive import ExtractiveSettings
from spyglass.answering.types import NOT_FOUND, Answer, Claim, Source
from spyglass.models.answer_features import features
from spyglass.core.sentences import sentences
from spyglass.models.answerer import TOP_READ, Reading, best_answer, logit, sigmoid


def clean_title(title: str) -> str:
    """A file name as the models' title context: no extension, separators as spaces."""
    stem = title.rsplit(".", 1)[0] if "." in title[-6:] else title
    return stem.replace("_", " ").replace("-", " ").strip()


def rank_candidates(question: str, sources: list[Source], scorer: Any, embedder: Any = None,
                    s: ExtractiveSettings | None = None) -> list[tuple[float, int, str, str]]:
    """``(p, source number, sentence, title)`` for every candidate sentence, most likely answer first."""
    s = s or ExtractiveSettings()
    cands, prev = [], []
    for src in sources:
        pieces = answer_pieces(src.text)
        for k, sent in enumerate(pieces):
            if len(sent) <= s.max_chars:
                cands.append((src.n, sent, clean_title(src.title)))
                prev.append(pieces[k - 1] if k else "")
    if not cands:
        return []
    cos = [0.0] * len(cands)
    if embedder is not None:
        vecs = embedder.embed([question] + [c[1] for c in cands])
        cos = [float(v) for v in vecs[1:] @ vecs[0]]
    p = scorer.probs(features(question, [c[1] for c in cands], [c[2] for c in cands], cos, prev))
    out = [(pi, n, sent, title) for pi, (n, sent, title) in zip(p, cands)]
    out.sort(key=lambda x: -x[0])
    return out


PASSAGE_CHARS = 1000  # a passage reader reads windows of whole sentences up to about this long (its 256 tokens)


def passage_windows(text: str, limit: int = PASSAGE_CHARS) -> list[tuple[int, str]]:
    """``(offset, window)``: ``text`` cut at sentence ends into windows of at most ``limit`` characters (a longer
    sentence is a window of its own)."""
    out: list[tuple[int, str]] = []
    start = end = pos = 0
    for sent in sentences(text):
        k = text.find(sent, pos)
        if k < 0:
            continue
        if end > start and k + len(sent) - start > limit:
            out.append((start, text[start:end]))
            start = k
        elif end == start:
            start = k
        end = pos = k + len(sent)
    if end > start:
        out.append((start, text[start:end]))
    return out


def _placed(text: str, cands: list[tuple[int, str]]) -> list[tuple[int, int, int]]:
    """``(start, end, index into ranked)`` of each candidate sentence of ``text`` (``cands``: index and sentence, in
    any order), in text order; a sentence not found in ``text`` is left out."""
    out, pos = [], 0
    for i, sent in sorted(cands, key=lambda c: text.find(c[1])):
        k = text.find(sent, pos)
        if k < 0:
            k = text.find(sent)
        if k >= 0:
            out.append((k, k + len(sent), i))
            pos = max(pos, k + len(sent))
    return out


def best_in_passages(question: str, sources: list[Source], ranked: list[tuple[float, int, str, str]], reader: Any
                     ) -> tuple[float, int, Any]:
    """A passage reader reads every source whole (in :func:`passage_windows`); each window's best span falls in a
    candidate sentence ``s``, whose answerability is ``a = σ(logit r(w) + logit p(s))`` (``r``: the reader's relevance
    of the window, ``p``: the network's of the sentence). Returns ``(a*, index into ranked, the span as a Reading of
    that sentence)``; ``(0, 0, None)`` when no span falls in a candidate."""
    by_source: dict[int, list[tuple[int, str]]] = {}
    for i, (_, n, sent, _) in enumerate(ranked):
        by_source.setdefault(n, []).append((i, sent))
    placed = {src.n: _placed(src.text, by_source[src.n]) for src in sources if src.n in by_source}
    wins = [(src, off, w) for src in sources if src.n in placed for off, w in passage_windows(src.text)]
    if not wins:
        return 0.0, 0, None
    reads = reader.read(question, [w for _, _, w in wins], [clean_title(src.title) for src, _, _ in wins])
    best: tuple[float, int, Any] = (0.0, 0, None)
    for (src, off, _), x in zip(wins, reads):
        at = off + x.start
        hit = next(((k, e, i) for k, e, i in placed[src.n] if k <= at < e), None) if x.end > x.start else None
        if hit is None:
            continue
        k, e, i = hit
        a = sigmoid(logit(x.p) + logit(ranked[i][0]))
        if a > best[0]:
            best = (a, i, Reading(x.p, at - k, min(off + x.end, e) - k, x.best, x.null))
    return best


def neighbours(sources: list[Source], ranked: list[tuple[float, int, str, str]]) -> list[tuple[str, str]]:
    """``(the piece before, the piece after)`` each ranked sentence in its source (``""`` at either end)."""
    pieces = {src.n: answer_pieces(src.text) for src in sources}
    out = []
    for _, n, sent, _ in ranked:
        ps = pieces.get(n, [])
        k = ps.index(sent) if sent in ps else -1
        out.append((ps[k - 1] if k > 0 else "", ps[k + 1] if 0 <= k < len(ps) - 1 else ""))
    return out


def choose(question: str, sources: list[Source], ranked: list[tuple[float, int, str, str]], reader: Any = None
           ) -> tuple[float, int, Any]:
    """``(a*, index into ranked, Reading or None)`` with the reader the model file says it is."""
    reads = getattr(reader, "reads", "sentence") if reader is not None and ranked else "sentence"
    if reads == "passage":
        return best_in_passages(question, sources, ranked, reader)
    if reads == "neighbours":
        return best_answer(question, ranked, reader, neighbours(sources, ranked[:TOP_READ]))
    return best_answer(question, ranked, reader)


def answerability(question: str, sources: list[Source], scorer: Any, embedder: Any = None,
                  s: ExtractiveSettings | None = None, reader: Any = None) -> float:
    """``a*``: how likely the sources answer the question (0 when they hold no sentence)."""
    return choose(question, sources, rank_candidates(question, sources, scorer, embedder, s), reader)[0]


def read_answer(question: str, sources: list[Source], scorer: Any, reader: Any = None, embedder: Any = None,
                s: ExtractiveSettings | None = None) -> Answer:
    s = s or ExtractiveSettings()
    ranked = rank_candidates(question, sources, scorer, embedder, s)
    p, i, reading = choose(question, sources, ranked, reader)
    if not ranked or p < s.min_answerable:  # no sentence to quote refuses even at min_answerable = 0
        return Answer(question, NOT_FOUND, sources, [], "extractive", found=False, answerability=p)
    _, n, sent, _ = ranked[i]
    span = (reading.start, reading.end) if reading is not None and reading.end > reading.start else None
    return Answer(question, f"{sent} [{n}]", sources, [Claim(sent, [n], span=span)], "extractive", found=True,
                  answerability=p)
