"""Photo search by description: the query through the text tower of the text–image slot, against one vector per
image file (:mod:`spyglass.index.image_vectors`). Filters and the caller's principals are applied inside the faiss
search (an ID selector over the image keys the SQL predicate allows), as for passages."""

from __future__ import annotations

import time
from typing import Any

from spyglass.core import acl
from spyglass.core.query import Filters, SearchRequest
from spyglass.core.types import Hit, Ranking
from spyglass.index.catalog import Catalog
from spyglass.index.vectors import VectorIndex
from spyglass.retrieval.sqlfilters import predicate, register_functions


class ImageRetriever:
    """``run(request, k)`` is the retriever contract (:class:`spyglass.core.protocols.Retriever`): images ranked by
    how well they match the words of the request."""

    name = "image"
    def __init__(self, catalog: Catalog, vectors: VectorIndex, clip: Any) -> None:
        self.catalog = catalog
        self.vectors = vectors
        self.clip = clip
        register_functions(catalog.db)

    def run(self, request: SearchRequest, k: int | None = None) -> Ranking:
        words = " ".join(c.text for c in request.parsed.positive if c.field is None) or request.text
        ranking = self.search(words, k=k or request.depth, filters=request.parsed.filters,
                              principals=request.principals, source_ids=request.source_ids)
        return ranking

    def search(self, query: str, *, principals: acl.Principals, k: int = 100, filters: Filters | None = None,
               source_ids: dict[str, str] | None = None) -> Ranking:
        """The best ``k`` images for a description (score: cosine)."""
        t0 = time.perf_counter()
        run = self.search_vector(self.clip.embed_texts([query])[0], k, filters, principals, source_ids)
        hits = [Hit(d, s, ranks={self.name: i + 1}) for i, (d, s) in enumerate(sorted(run.items(), key=lambda kv: -kv[1]))]
        return Ranking(hits, len(hits), [], {self.name: (time.perf_counter() - t0) * 1000})

    def search_vector(self, vector: Any, k: int, filters: Filters | None, principals: acl.Principals,
                      source_ids: dict[str, str] | None = None) -> dict[str, float]:
        """``{item_id: cosine}`` of the ``k`` images closest to an embedding (a description's or another image's)."""
        import numpy as np

        where, params = predicate(filters or Filters(), principals, source_ids or {})
        rows = self.catalog.db.execute(
            f"SELECT v.ikey, v.item_id FROM image_vectors v JOIN items i ON i.id = v.item_id "
            f"WHERE v.done = 1 AND {where}", params).fetchall()
        if not rows:
            return {}
        by_key = {int(r[0]): r[1] for r in rows}
        keys, scores = self.vectors.search(vector, k, np.fromiter(by_key, dtype=np.int64, count=len(by_key)))
        return {by_key[key]: s for key, s in zip(keys, scores) if key in by_key}

    def vector_of(self, item_id: str) -> Any | None:
        """The stored vector of an indexed image, or None."""
        r = self.catalog.db.execute("SELECT ikey FROM image_vectors WHERE item_id = ? AND done = 1",
                                    (item_id,)).fetchone()
        return self.vectors.get([int(r[0])])[0] if r else None
