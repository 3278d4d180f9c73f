"""Semantic retrieval: embed the query, search the vector index with filters and access control applied inside the
search (a faiss ID selector over the allowed passages), group passages into documents (a document scores as its best
passage)."""

from __future__ import annotations

import time
from typing import Any

from spyglass.core import acl
from spyglass.core.query import Filters, SearchRequest
from spyglass.core.types import Hit, Ranking
from spyglass.index.catalog import Catalog
from spyglass.index.vectors import VectorIndex
from spyglass.retrieval.sqlfilters import predicate, register_functions


class DenseRetriever:
    """Nearest passages by embedding, grouped into documents. ``run(request, k)`` is the retriever contract
    (:class:`spyglass.core.protocols.Retriever`)."""

    name = "semantic"
    QUERY_CACHE = 512  # recent query vectors kept (search as you type and paging repeat queries)

    def __init__(self, catalog: Catalog, vectors: VectorIndex, embedder: Any) -> None:
        from collections import OrderedDict

        self.catalog = catalog
        self.vectors = vectors
        self.embedder = embedder
        self._queries: OrderedDict[str, Any] = OrderedDict()
        self._allowed: OrderedDict[tuple, tuple[int, Any]] = OrderedDict()
        register_functions(catalog.db)

    def embed_query(self, text: str) -> Any:
        """The query's vector, from a small LRU cache when the same text was embedded recently."""
        v = self._queries.get(text)
        if v is None:
            v = self.embedder.embed([text])[0]
            self._queries[text] = v
            if len(self._queries) > self.QUERY_CACHE:
                self._queries.popitem(last=False)
        else:
            self._queries.move_to_end(text)
        return v

    ALLOWED_CACHE_BYTES = 64 * 1024 * 1024  # allowed-key sets kept per (filters, principals), newest first

    def allowed_vkeys(self, filters: Filters, principals: acl.Principals, source_ids: dict[str, str]) -> Any:
        """The vector keys ``principals`` may see under ``filters`` (an SQL scan of the catalog). Kept per
        (filters, principals) until the catalog changes (SQLite's ``data_version``, which another process's commit
        bumps): a team's searches repeat the same few principal sets, and the scan is most of a hybrid search."""
        import numpy as np

        key = (repr(filters), acl.require(principals), tuple(sorted(source_ids.items())))
        version = self.catalog.db.execute("PRAGMA data_version").fetchone()[0]
        hit = self._allowed.get(key)
        if hit is not None and hit[0] == version:
            self._allowed.move_to_end(key)
            return hit[1]
        where, params = predicate(filters, principals, source_ids)
        rows = self.catalog.db.execute(
            f"SELECT e.vkey FROM embeddings e JOIN items i ON i.id = e.item_id WHERE {where}", params
        ).fetchall()
        keys = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        self._allowed[key] = (version, keys)
        while sum(v[1].nbytes for v in self._allowed.values()) > self.ALLOWED_CACHE_BYTES and len(self._allowed) > 1:
            self._allowed.popitem(last=False)
        return keys

    def score_items(self, query_vector: Any, item_ids: list[str]) -> dict[str, float]:
        """Cosine of the query and each listed document's closest passage."""
        import numpy as np

        if not item_ids:
            return {}
        out: dict[str, float] = {}
        q = ",".join("?" * len(item_ids))
        rows = self.catalog.db.execute(f"SELECT vkey, item_id FROM embeddings WHERE item_id IN ({q})", item_ids)
        for key, iid in rows:
            try:
                v = self.vectors.index.reconstruct(int(key))
            except RuntimeError:  # not in the saved index (yet)
                continue
            s = float(np.dot(v, query_vector))
            if s > out.get(iid, -2.0):
                out[iid] = s
        return out

    def run(self, request: SearchRequest, k: int | None = None) -> Ranking:
        """The top ``k`` (default ``request.depth``) documents, filters and principals applied inside the search."""
        return self.search(request.text, k=k or request.depth, filters=request.parsed.filters,
                           principals=request.principals, source_ids=request.source_ids)

    def search(self, query: str, *, principals: acl.Principals, k: int = 100, filters: Filters | None = None,
               source_ids: dict[str, str] | None = None, query_vector: Any = None) -> Ranking:
        """Top ``k`` documents, each scored by its closest passage."""
        t0 = time.perf_counter()
        filters = filters or Filters()
        allowed = None
        if not acl.sees_everything(principals) or not filters.empty():
            allowed = self.allowed_vkeys(filters, principals, source_ids or {})
        qv = query_vector if query_vector is not None else self.embed_query(query)
        fetch = k * 3
        while True:
            keys, scores = self.vectors.search(qv, fetch, allowed)
            passages = self.catalog.passages_by_vkey(keys)
            best: dict[str, Hit] = {}
            for key, score in zip(keys, scores):
                p = passages.get(key)
                if p is not None and p[0] not in best:  # None: a vector the catalog no longer knows
                    best[p[0]] = Hit(p[0], float(score), p[1])
            if len(best) >= k or len(keys) < fetch or fetch >= 20 * k:
                break
            fetch *= 3
        hits = list(best.values())[:k]
        for i, h in enumerate(hits):
            h.ranks[self.name] = i + 1
        return Ranking(hits, len(hits), [], {self.name: (time.perf_counter() - t0) * 1000})
