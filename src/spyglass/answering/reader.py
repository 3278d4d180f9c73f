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
"""

from __future__ import annotations

from typing import Any

from spyglass.answering.candidates import answer_pieces
from spyglass.answering.extractive import ExtractiveSettings
from spyglass.answering.types import NOT_FOUND, Answer, Claim, Source
from spyglass.models.answer_features import features
from spyglass.models.answerer import best_answer


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


def answerability(question: str, sources: list[Source], scorer: Any, embedder: Any = None,
                  s: ExtractiveSettings | None = None, reader: Any = None) -> float:
    """``a*``: how likely the sources answer the question (0 when they hold no sentence)."""
    return best_answer(question, rank_candidates(question, sources, scorer, embedder, s), reader)[0]


def read_answer(question: str, sources: list[Source], scorer: Any, reader: Any = None, embedder: Any = None,
                s: ExtractiveSettings | None = None) -> Answer:
    s = s or ExtractiveSettings()
    ranked = rank_candidates(question, sources, scorer, embedder, s)
    p, i, reading = best_answer(question, ranked, reader)
    if not ranked or p < s.min_answerable:  # no sentence to quote refuses even at min_answerable = 0
        return Answer(question, NOT_FOUND, sources, [], "extractive", found=False, answerability=p)
    _, n, sent, _ = ranked[i]
    span = (reading.start, reading.end) if reading is not None and reading.end > reading.start else None
    return Answer(question, f"{sent} [{n}]", sources, [Claim(sent, [n], span=span)], "extractive", found=True,
                  answerability=p)
