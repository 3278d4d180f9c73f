"""Features of a (query, candidate document) pair, computed from what hybrid retrieval already knows.

Both retrievers score every candidate (a candidate found by only one of them is scored by the other inside its index),
so no feature is a missing value:

| feature | meaning |
|---|---|
| ``bm25`` | BM25 of the document's best passage |
| ``bm25_norm`` | ``bm25`` min-max normalized over the candidates |
| ``bm25_rrank`` | 1 / rank in the keyword list (0 when not in its top) |
| ``cos`` | cosine of the query and the document's closest passage |
| ``cos_norm`` | ``cos`` min-max normalized over the candidates |
| ``cos_rrank`` | 1 / rank in the semantic list (0 when not in its top) |
| ``title_overlap`` | share of the query's terms found in the title |
| ``query_terms`` | number of analysed query terms |
| ``log_size`` | log(1 + document size in bytes) |
"""

from __future__ import annotations

import math
from dataclasses import dataclass

FEATURES = ["bm25", "bm25_norm", "bm25_rrank", "cos", "cos_norm", "cos_rrank", "title_overlap", "query_terms",
            "log_size"]


@dataclass
class Candidates:
    ids: list[str]
    rows: list[list[float]]


def _norm(values: dict[str, float]) -> dict[str, float]:
    if not values:
        return {}
    lo, hi = min(values.values()), max(values.values())
    return {k: (v - lo) / (hi - lo) if hi > lo else 1.0 for k, v in values.items()}


def build(ids: list[str], bm25: dict[str, float], cos: dict[str, float], lex_rank: dict[str, int],
          dense_rank: dict[str, int], query_terms: list[str], title_terms: dict[str, set[str]],
          sizes: dict[str, int]) -> Candidates:
    bn, cn = _norm({i: bm25.get(i, 0.0) for i in ids}), _norm({i: cos.get(i, 0.0) for i in ids})
    q = set(query_terms)
    rows = []
    for i in ids:
        tt = title_terms.get(i, set())
        rows.append([
            bm25.get(i, 0.0), bn[i], 1.0 / lex_rank[i] if i in lex_rank else 0.0,
            cos.get(i, 0.0), cn[i], 1.0 / dense_rank[i] if i in dense_rank else 0.0,
            len(q & tt) / len(q) if q else 0.0, float(len(query_terms)), math.log1p(sizes.get(i, 0)),
        ])
    return Candidates(ids, rows)
