"""Second stages over hybrid candidates. Each returns the candidates re-scored, best first.

- ``ltr``: :class:`~spyglass.ranking.ltr.LtrRanker` over every candidate of both retrievers (features need no model
  call, so this costs a few milliseconds).
- ``maxsim``: late interaction over the embedder's token vectors of the query and of each candidate's best passage,
  :math:`s(q, d) = \\sum_{i \\in q} \\max_{j \\in d} \\cos(q_i, d_j)` (Khattab and Zaharia, "ColBERT", SIGIR 2020),
  for the top ``k`` fused candidates.
- ``cross-encoder``: a user-supplied ONNX cross-encoder scoring (query, passage) pairs for the top ``k``.
"""

from __future__ import annotations

from typing import Any

RERANKERS = ("ltr", "maxsim", "cross-encoder")


def maxsim_scores(embedder: Any, query: str, passages: list[str]) -> list[float]:
    import numpy as np

    qv = embedder.token_vectors([query])[0][1:-1]  # without [CLS] and [SEP]
    out = []
    for dv in embedder.token_vectors(passages):
        out.append(float(np.max(qv @ dv[1:-1].T, axis=1).sum()) if len(dv) > 2 and len(qv) else 0.0)
    return out
