"""What the answerability model sees of one candidate sentence ``s`` for a question ``q`` (no model call beyond the
sentence embeddings ``ask`` computes anyway). Shared by training (:mod:`spyglass.training`) and ``ask``
(:mod:`spyglass.answering.reader`), so both compute them the same way.

With ``T(x)`` the content terms of ``x`` (:func:`spyglass.core.terms.content_terms`), the idf of a question term over
the ``n`` candidates ``idf(t) = ln(1 + (n + 1) / (df(t) + ½))``, ``I = Σ_{t ∈ T(q)} idf(t)``, ``C(s) = T(s) ∪ T(prev) ∪
T(title)`` the sentence with its context (the sentence before it in its passage, which a pronoun in ``s`` often
refers to, and the file's title) and ``U = T(q) ∖ C(s)`` the question terms the sentence and its context lack:

====  ==========================================================================================================
 0    ``cos(e(q), e(s))`` (MiniLM embeddings)
 1    ``lex = Σ_{t ∈ T(q) ∩ T(s)} idf(t) / I``
 2-3  ``cos − max cos`` and ``lex − max lex`` over the candidates
 4-5  ``1 / (1 + rank)`` by cos and by lex
 6-8  ``|U|``, ``max_{t ∈ U} idf(t) / I``, ``Σ_{t ∈ U} idf(t) / I`` (an entity the sentence never mentions)
 9-10 names and numbers of the question missing from the sentence, and in the question
11-14 the answer type the question asks for (number, date, name) and whether ``s`` holds one
15    negation in one of ``q`` and ``s`` but not the other
16-17 ``ln(1 + |s|)`` in characters, ``|T(q)|``
18    ``second-best cos − best cos`` (a question with one clear candidate)
19    ``Σ_{t ∈ T(q) ∩ C(s)} idf(t) / I`` (coverage with the context)
====  ==========================================================================================================
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from typing import Any

from spyglass.core.terms import content_terms

N_FEATURES = 20
_NUMBER = re.compile(r"\d")
_DATE = re.compile(r"\b(1\d{3}|20\d{2})\b|\b(january|february|march|april|may|june|july|august|september|"
                   r"october|november|december)\b", re.I)
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+")
_NEG = re.compile(r"\b(not|never|no|without|neither|nor|none)\b|n't\b", re.I)
_KEY = re.compile(r"\b[A-Z][a-zA-Z]+|\b\d[\d,.]*\b")
_WH = {"what", "who", "whom", "whose", "when", "where", "which", "how", "why", "in", "on", "the", "a", "an"}


def answer_type(question: str) -> str | None:
    q = question.lower()
    if re.search(r"\bhow (many|much|long|far|old|big|large|tall|high)\b|\bwhat (percentage|percent|number)\b", q):
        return "number"
    if re.search(r"\bwhen\b|\bwhat (year|date|century|decade|month|day)\b|\bin which year\b", q):
        return "date"
    if re.search(r"\b(who|whom|whose|where)\b", q):
        return "name"
    return None


def has_type(sentence: str, kind: str | None, question: str) -> bool:
    if kind == "number":  # a quantity: digits other than a year
        return bool(_NUMBER.search(_DATE.sub(" ", sentence)))
    if kind == "date":
        return bool(_DATE.search(sentence))
    if kind == "name":
        q = {w.lower() for w in re.findall(r"[A-Za-z]+", question)}
        return any(m.group(0).lower() not in q for m in _NAME.finditer(sentence))
    return False


def _ranks(xs: list[float]) -> list[int]:
    order = sorted(range(len(xs)), key=lambda i: -xs[i])
    out = [0] * len(xs)
    for r, i in enumerate(order):
        out[i] = r
    return out


def features(question: str, sentences: list[str], titles: list[str], cos: list[float],
             previous: list[str] | None = None) -> Any:
    """An ``(n, N_FEATURES)`` float32 array, one row per candidate sentence (see the module docstring); ``previous``:
    the sentence before each in its passage ("" for a first sentence)."""
    import numpy as np

    n = len(sentences)
    x = np.zeros((n, N_FEATURES), dtype=np.float32)
    if n == 0:
        return x
    q_terms = set(content_terms(question))
    s_terms = [set(content_terms(s)) for s in sentences]
    df: dict[str, int] = defaultdict(int)
    for ts in s_terms:
        for t in ts & q_terms:
            df[t] += 1
    idf = {t: math.log(1 + (n + 1) / (df.get(t, 0) + 0.5)) for t in q_terms}
    total = sum(idf.values()) or 1.0
    lex = [sum(idf[t] for t in ts & q_terms) / total for ts in s_terms]
    r_cos, r_lex = _ranks(cos), _ranks(lex)
    kind = answer_type(question)
    keys = {w.lower() for w in _KEY.findall(question)} - _WH
    neg_q = bool(_NEG.search(question))
    top = sorted(cos, reverse=True)
    second = (top[1] - top[0]) if n > 1 else 0.0
    previous = previous or [""] * n
    for i, s in enumerate(sentences):
        context = s_terms[i] | set(content_terms(titles[i])) | set(content_terms(previous[i]))
        missing = q_terms - context
        low = s.lower()
        x[i] = [cos[i], lex[i], cos[i] - top[0], lex[i] - max(lex), 1 / (1 + r_cos[i]), 1 / (1 + r_lex[i]),
                len(missing), max((idf[t] for t in missing), default=0.0) / total,
                sum(idf[t] for t in missing) / total, sum(1 for k in keys if k not in low), len(keys),
                float(kind == "number"), float(kind == "date"), float(kind == "name"),
                float(has_type(s, kind, question)), float(neg_q != bool(_NEG.search(s))), math.log1p(len(s)),
                len(q_terms), second, sum(idf[t] for t in q_terms & context) / total]
    return x
