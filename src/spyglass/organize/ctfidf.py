"""Class-based TF-IDF: the words that set one topic apart from the others.

Grootendorst (2022), "BERTopic: Neural topic modeling with a class-based TF-IDF procedure", eq. (1): treating all the
documents of a class ``c`` as one document,

    W(t, c) = tf(t, c) · log(1 + A / f(t))

where ``tf(t, c)`` is the frequency of term ``t`` in class ``c``, ``f(t)`` its frequency over all classes and ``A`` the
average number of words per class. (Here ``tf`` is the raw count share ``count / words in c``.) A class's counts
are the sums of its documents' :func:`label_terms`.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from spyglass.core.terms import STOP

_WORD = re.compile(r"[^\W\d_][^\W_]{2,}", re.UNICODE)


def label_terms(text: str, top: int = 30) -> dict[str, int]:
    """A document's most frequent content words (lower-cased, unstemmed: they are shown as labels)."""
    c = Counter(w for w in (m.group(0).lower() for m in _WORD.finditer(text[:100_000])) if w not in STOP)
    return dict(c.most_common(top))


def ctfidf(counts: dict[int, dict[str, int]]) -> dict[int, list[tuple[str, float]]]:
    """Per class, its terms by descending weight."""
    totals = {c: sum(ws.values()) for c, ws in counts.items()}
    if not totals:
        return {}
    avg = sum(totals.values()) / len(totals)
    freq: dict[str, int] = {}
    for ws in counts.values():
        for t, n in ws.items():
            freq[t] = freq.get(t, 0) + n
    out = {}
    for c, ws in counts.items():
        scored = [(t, (n / totals[c]) * math.log(1 + avg / freq[t])) for t, n in ws.items() if totals[c]]
        out[c] = sorted(scored, key=lambda x: (-x[1], x[0]))
    return out
