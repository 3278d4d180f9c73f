"""The search pipeline: one order of stages over one hit type.

```
request ─► retrievers (keyword, semantic, image; filters and principals inside each index) ─► fusion ─► the keyword
promise (required words, phrases and exclusions hold in every mode) ─► reranker ─► page ─► snippets ─► documents
```

:class:`SearchPipeline` is built by the app from configuration (a light constructor: retrievers, fusion and
rerankers are passed in, models inside them load on first use) and run per request. Nothing here holds or calls back
an app object. A keyword-only request without a reranker takes the fast path: tantivy pages and snippets directly.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from spyglass.core.errors import SpyglassError
from spyglass.core.protocols import Reranker, Retriever
from spyglass.core.query import SearchRequest
from spyglass.core.types import Hit, Ranking
from spyglass.index.catalog import Catalog
from spyglass.ranking.fuse import Fuse
from spyglass.retrieval.lexical import LexicalRetriever

MODES = ("keyword", "semantic", "hybrid")
LABELLED_TYPES = frozenset({"audio", "video", "xlsx", "ods", "csv"})  # where a page number says nothing


class SearchPipeline:
    def __init__(self, lexical: LexicalRetriever, catalog: Catalog, *, dense: Retriever | None = None,
                 images: Retriever | None = None, fuse: Fuse | None = None,
                 rerankers: Mapping[str, Reranker] | None = None, semantic_floor: float = 0.0) -> None:
        self.lexical, self.catalog, self.dense, self.images = lexical, catalog, dense, images
        self.fuse = fuse or Fuse()
        self.rerankers = dict(rerankers or {})
        self.semantic_floor = semantic_floor

    def run(self, request: SearchRequest) -> Ranking:
        """The page of hits the request asks for, with snippets (when asked) and the documents' fields."""
        t0 = time.perf_counter()
        if self._keyword_only(request):
            ranking = self.lexical.search(request.parsed, principals=request.principals, limit=request.limit,
                                          offset=request.offset, source_ids=request.source_ids,
                                          snippets=request.snippets)
        else:
            ranking = self._floor(request, self.candidates(request))
            if request.rerank and ranking.hits:
                ranking = self._rerank(request, ranking)
            ranking.hits = ranking.hits[request.offset : request.want]
            if request.snippets:
                self._snippets(request, ranking.hits + ranking.related)
        ranking.hits = self._documents(ranking.hits)
        ranking.related = self._documents(ranking.related)
        ranking.timings["total"] = (time.perf_counter() - t0) * 1000
        return ranking

    def candidates(self, request: SearchRequest) -> Ranking:
        """Every fused candidate that keeps the keyword promise, best first (no reranking, no paging): the input of
        the rerankers, and of their training."""
        runs = {r.name: r.run(request, max(request.depth, request.want)) for r in self._retrievers(request)}
        return self._keep_promise(request, self.fuse.run(request, runs))

    def mode(self, request: SearchRequest) -> str:
        """The mode this pipeline runs for the request: keyword when there are no vectors (yet)."""
        if request.mode not in MODES:
            raise SpyglassError(f"unknown mode {request.mode!r}: use one of {', '.join(MODES)}")
        return request.mode if self.dense is not None else "keyword"

    def uses_images(self, request: SearchRequest) -> bool:
        """A search for images only, by description, with a text–image model indexed."""
        return (self.images is not None and request.mode != "keyword"
                and bool(request.parsed.filters.types) and set(request.parsed.filters.types) == {"image"})

    # -- stages -------------------------------------------------------------------------------------------------
    def _keyword_only(self, request: SearchRequest) -> bool:
        return self.mode(request) == "keyword" and not request.rerank and not self.uses_images(request)

    def _retrievers(self, request: SearchRequest) -> list[Retriever]:
        mode = self.mode(request)
        out: list[Retriever] = []
        if mode in ("keyword", "hybrid"):
            out.append(self.lexical)
        if mode in ("semantic", "hybrid") and self.dense is not None:
            out.append(self.dense)
        if self.uses_images(request):
            out.append(self.images)  # type: ignore[arg-type]
        return out

    def _keep_promise(self, request: SearchRequest, ranking: Ranking) -> Ranking:
        """Drop the candidates only a vector search found that break the query's required words, phrases or
        exclusions (the keyword run already obeys them), and count what is left."""
        if not request.parsed.constraints:
            return ranking
        others = [h.id for h in ranking.hits if "keyword" not in h.ranks]
        keep = self.lexical.matching(request.parsed, others)
        before = len(ranking.hits)
        ranking.hits = [h for h in ranking.hits if "keyword" in h.ranks or h.id in keep]
        ranking.total = max(0, ranking.total - (before - len(ranking.hits)))
        return ranking

    def _floor(self, request: SearchRequest, ranking: Ranking) -> Ranking:
        """A floor for meaning: when no word of the query occurs in any readable document and either the embedding
        model knows none of its words (the language gate gives the semantic run no weight: ``ranking.weight`` 0) or
        even the closest passage is not similar enough (``semantic_floor``), nothing is a result; the few closest
        documents are kept apart as ``related`` instead of being shown as matches."""
        if not ranking.hits or any("keyword" in h.ranks for h in ranking.hits):
            return ranking
        best = max((h.signals.get("semantic", 0.0) for h in ranking.hits), default=0.0)
        unknown = ranking.weight <= 0.0
        if not unknown and (self.semantic_floor <= 0 or best >= self.semantic_floor):
            return ranking
        if self._has_keyword_match(request):
            return ranking
        return Ranking([], 0, ranking.fuzzy, ranking.timings, related=ranking.hits[:3])

    def _has_keyword_match(self, request: SearchRequest) -> bool:
        if self.mode(request) == "hybrid":
            return False  # the keyword run was part of this search and found nothing
        found = self.lexical.search(request.parsed, principals=request.principals, limit=1,
                                    source_ids=request.source_ids, snippets=False)
        return bool(found.hits)

    def _rerank(self, request: SearchRequest, ranking: Ranking) -> Ranking:
        reranker = self.rerankers.get(request.rerank or "")
        if reranker is None:
            raise SpyglassError(f"unknown or unavailable reranker {request.rerank!r}: use "
                                f"{', '.join(sorted(self.rerankers)) or 'none (no embeddings yet)'}")
        t0 = time.perf_counter()
        out = reranker.run(request, ranking)
        out.timings["rerank"] = (time.perf_counter() - t0) * 1000
        return out

    def _snippets(self, request: SearchRequest, hits: list[Hit]) -> None:
        snip = self.lexical.snippeter(None, self.lexical.text_query(request.parsed))
        for h in hits:
            c = self.catalog.chunk(h.id, h.chunk)
            if c is not None:
                h.page = c.page
                h.snippet, h.snippet_html, h.highlights = snip(c.text)

    def _documents(self, hits: list[Hit]) -> list[Hit]:
        """Fill each hit's document fields from the catalog; a document removed since the index commit is dropped."""
        items = self.catalog.items([h.id for h in hits])
        out = []
        for h in hits:
            it = items.get(h.id)
            if it is None:
                continue
            h.score = round(h.score, 6)
            h.path, h.title, h.type, h.modified = it["path"], it["title"] or it["name"], it["type"], it["modified"]
            h.uri, h.source, h.parent_id = it["uri"], str(it["source_id"]), it["parent_id"]
            h.extra = {"name": it["name"], "author": it["author"], "size": it["size"], "status": it["status"]}
            if it["type"] in LABELLED_TYPES:
                c = self.catalog.chunk(h.id, h.chunk)
                h.label = c.label if c is not None else None
            out.append(h)
        return out
