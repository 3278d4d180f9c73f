"""Search, composed: the pipeline built from configuration, and a request built from what a caller typed (parsed,
catalog filters resolved, principals checked, the default reranker chosen)."""

from __future__ import annotations

from typing import Any

from spyglass.core import acl
from spyglass.core.errors import SpyglassError
from spyglass.core.query import Filters, SearchRequest
from spyglass.ranking.fuse import Fuse
from spyglass.ranking.pipeline import SearchPipeline
from spyglass.retrieval import catalog_filters
from spyglass.retrieval.lexical import LexicalRetriever
from spyglass.retrieval.query import parse, parse_plain

RERANKERS = ("ltr", "learned", "maxsim", "cross-encoder")


def build_pipeline(parts: Any) -> SearchPipeline:
    """The pipeline over the current index (``parts``: :class:`spyglass.app.components.Components`)."""
    cfg = parts.config
    data = parts.reader()
    lexical = LexicalRetriever(data.lexical, cfg.search)
    dense = parts.dense()
    try:
        images = parts.images()
    except SpyglassError:  # a text-image model file moved since indexing: the text signals still rank the photos
        images = None
    fuse = Fuse(cfg.search.fusion, cfg.search.alpha, cfg.search.rrf_k, cfg.media.clip_weight)
    return SearchPipeline(lexical, data.catalog, dense=dense, images=images, fuse=fuse,
                          rerankers=_rerankers(parts, lexical, dense) if dense is not None else {},
                          semantic_floor=cfg.search.semantic_floor)


def _rerankers(parts: Any, lexical: LexicalRetriever, dense: Any) -> dict[str, Any]:
    """Every second stage, keyed by name; each loads its model on first use."""
    from spyglass.ranking.personal import UsageCache
    from spyglass.ranking.rerankers import LtrReranker, MaxSim, PairReranker

    catalog, k = parts.reader().catalog, parts.config.rerank.k
    out: dict[str, Any] = {
        "ltr": LtrReranker("ltr", parts.ltr(), lexical, dense, catalog),
        "maxsim": PairReranker("maxsim", MaxSim(dense.embedder), catalog, k),
    }
    if parts.learned_model() is not None:
        out["learned"] = LtrReranker("learned", parts.learned_ltr(), lexical, dense, catalog,
                                     UsageCache(parts.activity()))
    if parts.config.rerank.cross_encoder:
        out["cross-encoder"] = PairReranker("cross-encoder", parts.cross_encoder(), catalog, k)
    return out


def make_request(parts: Any, text: str, *, principals: acl.Principals, limit: int | None = None, offset: int = 0,
                 filters: Filters | None = None, mode: str | None = None, fusion: str | None = None,
                 rerank: str | None = None, snippets: bool = True, syntax: str = "query",
                 user: str | None = None) -> SearchRequest:
    cfg = parts.config
    parsed = parse_plain(text) if syntax == "plain" else parse(text)
    if filters is not None:
        parsed.filters = parsed.filters.merge(filters)
    catalog = parts.reader().catalog
    catalog_filters.resolve(catalog, parsed.filters)
    sources = catalog.sources()
    request = SearchRequest(text, parsed, acl.require(principals),
                            {s.name: str(s.id) for s in sources} | {s.root: str(s.id) for s in sources},
                            limit=limit or cfg.search.default_limit, offset=offset, depth=cfg.search.fusion_depth,
                            user=user, mode=mode or cfg.search.mode, fusion=fusion, snippets=snippets)
    if request.mode == "semantic":
        parts.dense(required=True)  # says why there is no semantic search (disabled, no vectors yet, another model)
    request.rerank = choose_reranker(parts, request, rerank)
    return request


def choose_reranker(parts: Any, request: SearchRequest, asked: str | None) -> str | None:
    """The reranker asked for (``none`` for no reranker); by default the configured one, else the ranker trained on
    this collection's own activity log for hybrid searches. None when the index has no vectors yet."""
    if asked in ("none", ""):
        return None
    if asked is not None and asked not in RERANKERS:
        raise SpyglassError(f"unknown reranker {asked!r}: use ltr, learned, maxsim, cross-encoder or none")
    if asked == "learned" and parts.learned_model() is None:
        raise SpyglassError("no learned ranker yet: run `spyglass train ranker` after some use")
    if asked is not None:
        parts.dense(required=True)  # raises when there are no vectors: every reranker needs them
        return asked
    default = parts.config.rerank.default or None
    if default is None and request.mode == "hybrid" and parts.config.rerank.learned and parts.learned_model():
        default = "learned"
    return default if default and parts.dense() is not None else None
