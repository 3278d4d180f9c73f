"""Extractive answers: the sentences of the retrieved passages that best answer the question, each cited.

A sentence's score mixes three signals, each in [0, 1]:

    score(s) = w_lex · Σ_{t ∈ q} idf(t) · m(t, s) / Σ_{t ∈ q} idf(t)  (question-term coverage, idf over sentences;
                                                                      m = 1 in s, ½ only in the sentence before s
                                                                      or the title: "Its budget ..." after "The
                                                                      bridge ...")
             + w_sem · max(0, cos(e(q), e(s)))                      (MiniLM similarity, when an embedder is given)
             + w_pos · 1 / (1 + rank(passage))                        (the retriever's order)
             + w_type · [s holds the kind of answer the question asks for] (a number for "how many", a year or
                                                                        date for "when", a name for "who"/"where")

The best sentence must reach ``min_score``; otherwise the answer says the files do not hold it (a refusal rather than
a guess). Up to ``max_sentences`` more sentences join when they score within ``keep_ratio`` of the best and add
question terms the answer does not cover yet. Weights and threshold were set on the first half of SQuAD 2.0 dev and
are measured on the second half (BENCHMARKS.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from spyglass.answering.candidates import answer_pieces
from spyglass.models.answer_features import answer_type, has_type
from spyglass.core.terms import content_terms
from spyglass.answering.types import NOT_FOUND, Answer, Claim, Source


@dataclass
class ExtractiveSettings:
    w_lex: float = 0.5
    w_sem: float = 0.4
    w_pos: float = 0.1
    w_type: float = 0.15
    min_score: float = 0.5
    max_sentences: int = 2
    keep_ratio: float = 0.85
    max_chars: int = 600
    min_answerable: float = 0.15  # with the answer models (answering/reader.py)


def score_sentences(question: str, sources: list[Source], embedder: Any = None,
                    s: ExtractiveSettings | None = None) -> list[tuple[float, int, str]]:
    """``(score, source number, sentence)`` for every sentence of the sources, best first."""
    s = s or ExtractiveSettings()
    cands: list[tuple[int, int, str]] = []  # (source index, rank, sentence)
    context: list[set[str]] = []  # terms of the sentence before and of the title
    for i, src in enumerate(sources):
        prev: set[str] = set()
        title = set(content_terms(src.title.rsplit(".", 1)[0].replace("-", " ").replace("_", " ")))
        for sent in answer_pieces(src.text):
            if len(sent) <= s.max_chars:
                cands.append((i, i, sent))
                context.append(prev | title)
            prev = set(content_terms(sent))
    if not cands:
        return []
    q_terms = set(content_terms(question))
    df: dict[str, int] = {}
    sent_terms = [set(content_terms(c[2])) for c in cands]
    for ts in sent_terms:
        for t in ts & q_terms:
            df[t] = df.get(t, 0) + 1
    n = len(cands)
    idf = {t: math.log(1 + (n + 1) / (df.get(t, 0) + 0.5)) for t in q_terms}
    total = sum(idf.values()) or 1.0
    lex = [(sum(idf[t] for t in ts & q_terms) + 0.5 * sum(idf[t] for t in (ctx - ts) & q_terms)) / total
           for ts, ctx in zip(sent_terms, context)]
    sem = [0.0] * n
    if embedder is not None and s.w_sem > 0:
        vecs = embedder.embed([question] + [c[2] for c in cands])
        sem = [max(0.0, float(v)) for v in vecs[1:] @ vecs[0]]
    w_sem = s.w_sem if embedder is not None else 0.0
    kind = answer_type(question)
    w_type = s.w_type if kind else 0.0
    norm = s.w_lex + w_sem + s.w_pos + w_type
    scored = [((s.w_lex * lex[k] + w_sem * sem[k] + s.w_pos / (1 + cands[k][1])
                + w_type * has_type(cands[k][2], kind, question)) / norm, sources[cands[k][0]].n, cands[k][2])
              for k in range(n)]
    scored.sort(key=lambda x: -x[0])
    return scored


def extractive_answer(question: str, sources: list[Source], embedder: Any = None,
                      s: ExtractiveSettings | None = None) -> Answer:
    s = s or ExtractiveSettings()
    scored = score_sentences(question, sources, embedder, s)
    if not scored or scored[0][0] < s.min_score:
        return Answer(question, NOT_FOUND, sources, [], "extractive", found=False)
    best = scored[0][0]
    chosen = [scored[0]]
    covered = set(content_terms(scored[0][2])) & set(content_terms(question))
    for sc, n, sent in scored[1:]:
        if len(chosen) >= s.max_sentences or sc < best * s.keep_ratio:
            break
        new = (set(content_terms(sent)) & set(content_terms(question))) - covered
        if new and sent not in {c[2] for c in chosen}:
            chosen.append((sc, n, sent))
            covered |= new
    claims = [Claim(sent, [n]) for _, n, sent in chosen]
    text = " ".join(f"{c.text} [{c.cites[0]}]" for c in claims)
    return Answer(question, text, sources, claims, "extractive", found=True)
