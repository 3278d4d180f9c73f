"""Second stages over fused candidates, each a :class:`spyglass.core.protocols.Reranker`: the same documents come
back, re-scored, best first, with the score each came in with kept as ``hit.signals["<name>_input"]``.

- :class:`LtrReranker` (``ltr``, and ``learned`` for the ranker trained from the activity log): LightGBM LambdaMART
  (:mod:`spyglass.ranking.ltr`) over :mod:`spyglass.ranking.features` of every candidate — no model call, a few ms.
- :class:`PairReranker` (``maxsim``, ``cross-encoder``, the trained reranker): a model scoring (query, passage) pairs for
  the top ``k`` candidates; the rest keep their order below them.
"""

from __future__ import annotations

import time
from typing import Any

from spyglass.core.protocols import PairScorer
from spyglass.core.query import SearchRequest
from spyglass.core.types import Hit, Ranking
from spyglass.index.catalog import Catalog
from spyglass.ranking import features
from spyglass.ranking.ltr import LtrRanker
from spyglass.ranking.personal import UsageCache
from spyglass.retrieval.dense import DenseRetriever
from spyglass.retrieval.lexical import LexicalRetriever


def _rescored(name: str, hits: list[Hit], scores: list[float]) -> list[Hit]:
    for h, s in zip(hits, scores):
        h.signals[f"{name}_input"] = round(h.score, 6)
        h.score = float(s)
    return sorted(hits, key=lambda h: -h.score)


class LtrReranker:
    """Learning to rank over every candidate of both retrievers. ``context``: also the document's path match and kind;
    ``usage``: also the caller's own use of each candidate (:mod:`spyglass.ranking.personal`) — only for a model
    trained with those features."""

    def __init__(self, name: str, model: LtrRanker, lexical: LexicalRetriever, dense: DenseRetriever,
                 catalog: Catalog, usage: UsageCache | None = None) -> None:
        self.name, self.model, self.lexical, self.dense, self.catalog, self.usage = \
            name, model, lexical, dense, catalog, usage

    def run(self, request: SearchRequest, candidates: Ranking) -> Ranking:
        hits, rows = self.features(request, candidates)
        return Ranking(_rescored(self.name, hits, self.model.score(rows)), candidates.total, candidates.fuzzy,
                       candidates.timings)

    def features(self, request: SearchRequest, candidates: Ranking, context: bool | None = None
                 ) -> tuple[list[Hit], list[list[float]]]:
        """Every candidate and its feature row: :data:`~spyglass.ranking.features.FEATURES`, then ``CONTEXT`` and
        ``PERSONAL`` when the model (or ``context``) asks for them."""
        self.model.warm_up()
        use_context = self.model.context if context is None else context
        hits = candidates.hits
        ids = [h.id for h in hits]
        cands = self._candidates(request, hits, use_context)
        rows = cands.rows
        if use_context and cands.context is not None:
            rows = [a + b for a, b in zip(rows, cands.context)]
        if self.model.personal and context is None and self.usage is not None:
            rows = [a + b for a, b in zip(rows, self.usage.current().rows(request.user, ids, time.time()))]
        return hits, rows

    def _candidates(self, request: SearchRequest, hits: list[Hit], context: bool) -> features.Candidates:
        ids = [h.id for h in hits]
        bm25 = {h.id: h.signals["keyword"] for h in hits if "keyword" in h.signals}
        bm25.update(self.lexical.score_items(request.parsed, [i for i in ids if i not in bm25]))
        cos = {h.id: h.signals["semantic"] for h in hits if "semantic" in h.signals}
        cos.update(self.dense.score_items(self.dense.embed_query(request.text), [i for i in ids if i not in cos]))
        items = self.catalog.items(ids)
        analyze = self.lexical.analyze
        titles = {i: set(analyze(f"{it['title'] or ''} {it['name']}")) for i, it in items.items()}
        paths = {i: set(analyze(it["path"].replace("/", " ").replace("_", " "))) for i, it in items.items()} \
            if context else None
        return features.build(ids, bm25, cos, {h.id: h.ranks["keyword"] for h in hits if "keyword" in h.ranks},
                              {h.id: h.ranks["semantic"] for h in hits if "semantic" in h.ranks},
                              analyze(request.text), titles, {i: it["size"] or 0 for i, it in items.items()},
                              paths, {i: it["type"] for i, it in items.items()})


class PairReranker:
    """A (query, passage) model over the best passage of each of the top ``k`` candidates."""

    def __init__(self, name: str, model: PairScorer, catalog: Catalog, k: int = 20) -> None:
        self.name, self.model, self.catalog, self.k = name, model, catalog, k

    def run(self, request: SearchRequest, candidates: Ranking) -> Ranking:
        head, tail = candidates.hits[: self.k], candidates.hits[self.k :]
        passages = []
        for h in head:
            c = self.catalog.chunk(h.id, h.chunk)
            passages.append(c.text if c else "")
        scores = self.model.score(request.text, passages) if head else []
        return Ranking(_rescored(self.name, head, scores) + tail, candidates.total, candidates.fuzzy,
                       candidates.timings)


class MaxSim:
    """Late interaction over the embedder's token vectors of the query and a passage,
    :math:`s(q, d) = \\sum_{i \\in q} \\max_{j \\in d} \\cos(q_i, d_j)` (Khattab and Zaharia, "ColBERT", SIGIR 2020)."""

    def __init__(self, embedder: Any) -> None:
        self.embedder = embedder

    def score(self, query: str, passages: list[str]) -> list[float]:
        import numpy as np

        qv = self.embedder.token_vectors([query])[0][1:-1]  # without [CLS] and [SEP]
        out = []
        for dv in self.embedder.token_vectors(passages):
            out.append(float(np.max(qv @ dv[1:-1].T, axis=1).sum()) if len(dv) > 2 and len(qv) else 0.0)
        return out
