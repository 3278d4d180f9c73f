"""Search modes: ``keyword`` (BM25), ``semantic`` (embeddings), ``hybrid`` (both, fused). Hybrid takes the top
``depth`` documents of each retriever, both already filtered by the caller's principals and the query's filters
inside their index, and fuses them (reciprocal rank fusion or normalized score combination). The snippet of a
result is its best passage (lexical when it matched the words, else the closest passage) with the query's words
marked."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from spyglass.index.catalog import Catalog
from spyglass.retrieval.dense import DenseRetriever
from spyglass.retrieval.fusion import normalized_sum, rrf
from spyglass.retrieval.lexical import LexicalRetriever
from spyglass.retrieval.query import ParsedQuery

MODES = ("keyword", "semantic", "hybrid")
FUSIONS = ("rrf", "normalized")


@dataclass(slots=True)
class DocHit:
    item_id: str
    score: float
    ord: int
    page: int | None = None
    snippet: str = ""
    snippet_html: str = ""
    highlights: list[tuple[int, int]] = field(default_factory=list)
    ranks: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class Ranked:
    hits: list[DocHit]
    total: int
    fuzzy: list[str]
    took_ms: float
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class HybridSettings:
    fusion: str = "normalized"
    depth: int = 100  # documents taken from each retriever
    rrf_k: float = 60.0
    alpha: float = 0.5  # weight of the semantic run in normalized fusion
    rerank_k: int = 20  # candidates a model reranker (maxsim, cross-encoder) scores


def run_search(
    mode: str,
    parsed: ParsedQuery,
    text: str,
    lexical: LexicalRetriever,
    dense: DenseRetriever | None,
    catalog: Catalog,
    limit: int = 10,
    offset: int = 0,
    principals: list[str] | None = None,
    source_ids: dict[str, str] | None = None,
    settings: HybridSettings | None = None,
    snippets: bool = True,
    rerank: str | None = None,
    rerankers: Any = None,
    collect: list | None = None,
    image_run: dict[str, float] | None = None,
    image_weight: float = 0.5,
    user: str | None = None,
) -> Ranked:
    """``rerank``: ``ltr``, ``maxsim`` or ``cross-encoder``; ``rerankers`` provides them (see
    :class:`spyglass.app.spyglass.Spyglass`). ``image_run``: image scores from the text–image slot (a search
    restricted to images), fused with the text ranking by normalized combination, weight ``image_weight``."""
    settings = settings or HybridSettings()
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    if (mode == "keyword" or dense is None) and not rerank and image_run is None:
        res = lexical.search(parsed, limit=limit, offset=offset, principals=principals, source_ids=source_ids,
                             snippets=snippets)
        hits = [DocHit(h.item_id, h.score, h.ord, h.page, h.snippet, h.snippet_html, h.highlights,
                       {"keyword": offset + i + 1}) for i, h in enumerate(res.hits)]
        return Ranked(hits, res.total, res.fuzzy, (time.perf_counter() - t0) * 1000, {"keyword": res.took_ms})
    want = offset + limit
    depth = max(settings.depth, want)
    if dense is None and rerank:
        raise ValueError("reranking needs semantic search (embeddings)")
    qv, dense_hits = None, []
    if dense is not None and (mode != "keyword" or rerank):
        qv = dense.embed_query(text)
        dense_hits, timings["semantic"] = dense.search(text, k=depth, filters=parsed.filters, principals=principals,
                                                       source_ids=source_ids, query_vector=qv)
    lex = None
    if mode == "keyword" or dense is None:
        lex = lexical.search(parsed, limit=depth, principals=principals, source_ids=source_ids, snippets=False)
        hits = [DocHit(h.item_id, h.score, h.ord, h.page, ranks={"keyword": i + 1}) for i, h in enumerate(lex.hits)]
        total, fuzzy = lex.total, lex.fuzzy
    elif mode == "semantic":
        hits = [DocHit(h.item_id, h.score, h.ord, ranks={"semantic": i + 1}) for i, h in enumerate(dense_hits)]
        total, fuzzy = len(dense_hits), []
    else:
        lex = lexical.search(parsed, limit=depth, principals=principals, source_ids=source_ids, snippets=False)
        timings["keyword"] = lex.took_ms
        lex_run = {h.item_id: h.score for h in lex.hits}
        dense_run = {h.item_id: h.score for h in dense_hits}
        if settings.fusion == "normalized":
            fused = normalized_sum([lex_run, dense_run], [1 - settings.alpha, settings.alpha])
        else:
            fused = rrf([lex_run, dense_run], k=settings.rrf_k)
        by_lex = {h.item_id: (i + 1, h) for i, h in enumerate(lex.hits)}
        by_dense = {h.item_id: (i + 1, h) for i, h in enumerate(dense_hits)}
        hits = []
        for doc, score in fused.items():
            ranks = {}
            if doc in by_lex:
                ranks["keyword"] = by_lex[doc][0]
            if doc in by_dense:
                ranks["semantic"] = by_dense[doc][0]
            best = by_lex[doc][1] if doc in by_lex else by_dense[doc][1]
            hits.append(DocHit(doc, score, best.ord, getattr(best, "page", None), ranks=ranks))
        total = lex.total + sum(1 for d in by_dense if d not in by_lex)
        fuzzy = lex.fuzzy
    if image_run is not None:
        hits, total = _fuse_images(hits, image_run, image_weight), max(total, len(image_run))
    if rerank:
        t1 = time.perf_counter()
        if lex is None:
            lex = lexical.search(parsed, limit=depth, principals=principals, source_ids=source_ids, snippets=False)
        if collect is not None:  # training: hand back the candidates and their features instead of ranking
            collect.append(ltr_candidates(hits, parsed, text, qv, lex.hits, dense_hits, lexical, dense, catalog))
            return Ranked([], total, fuzzy, 0.0, timings)
        hits = _rerank(rerank, rerankers, hits, parsed, text, qv, lex.hits, dense_hits, lexical, dense, catalog,
                       settings.rerank_k, user)
        timings["rerank"] = (time.perf_counter() - t1) * 1000
    page = hits[offset:want]
    if snippets and page:
        snip = lexical.snippeter(None, lexical.text_query(parsed))
        for h in page:
            c = catalog.chunk(h.item_id, h.ord)
            if c is not None:
                h.page = c.page
                h.snippet, h.snippet_html, h.highlights = snip(c.text)
    return Ranked(page, total, fuzzy, (time.perf_counter() - t0) * 1000, timings)


def _fuse_images(hits: list[DocHit], image_run: dict[str, float], weight: float) -> list[DocHit]:
    """The text ranking and the image run combined by normalized score combination
    (:mod:`spyglass.retrieval.fusion.normalized`), the image run weighted ``weight``."""
    fused = normalized_sum([{h.item_id: h.score for h in hits}, image_run], [1 - weight, weight])
    by_id = {h.item_id: h for h in hits}
    image_rank = {d: i + 1 for i, d in enumerate(sorted(image_run, key=lambda d: -image_run[d]))}
    out = []
    for doc, score in fused.items():
        h = by_id.get(doc) or DocHit(doc, 0.0, 0)
        h.score = score
        if doc in image_rank:
            h.ranks["image"] = image_rank[doc]
        out.append(h)
    return out


def ltr_candidates(hits: list[DocHit], parsed: ParsedQuery, text: str, qv: Any, lex_hits: list, dense_hits: list,
                   lexical: LexicalRetriever, dense: DenseRetriever, catalog: Catalog, context: bool = True):
    """Every candidate of both retrievers with its feature row (:mod:`spyglass.ranking.features`), and its
    ``CONTEXT`` row when ``context`` (the packaged ranker has no use for it)."""
    from spyglass.ranking import features

    by_id = {h.item_id: h for h in hits}
    for i, h in enumerate(lex_hits):
        by_id.setdefault(h.item_id, DocHit(h.item_id, 0.0, h.ord, h.page, ranks={"keyword": i + 1}))
    for i, h in enumerate(dense_hits):
        by_id.setdefault(h.item_id, DocHit(h.item_id, 0.0, h.ord, ranks={"semantic": i + 1}))
    ids = list(by_id)
    bm25 = {h.item_id: h.score for h in lex_hits}
    bm25.update(lexical.score_items(parsed, [i for i in ids if i not in bm25]))
    cos = {h.item_id: h.score for h in dense_hits}
    cos.update(dense.score_items(qv, [i for i in ids if i not in cos]))
    items = catalog.items(ids)
    titles = {i: set(lexical.analyze(f"{it['title'] or ''} {it['name']}")) for i, it in items.items()}
    sizes = {i: it["size"] or 0 for i, it in items.items()}
    paths = {i: set(lexical.analyze(it["path"].replace("/", " ").replace("_", " "))) for i, it in items.items()} \
        if context else None
    cands = features.build(ids, bm25, cos, {h.item_id: r + 1 for r, h in enumerate(lex_hits)},
                           {h.item_id: r + 1 for r, h in enumerate(dense_hits)}, lexical.analyze(text), titles, sizes,
                           paths, {i: it["type"] for i, it in items.items()})
    return by_id, ids, cands


def _rerank(kind: str, rerankers: Any, hits: list[DocHit], parsed: ParsedQuery, text: str, qv: Any,
            lex_hits: list, dense_hits: list, lexical: LexicalRetriever, dense: DenseRetriever, catalog: Catalog,
            k: int, user: str | None = None) -> list[DocHit]:
    if kind in ("ltr", "learned"):
        by_id, ids, cands = ltr_candidates(hits, parsed, text, qv, lex_hits, dense_hits, lexical, dense, catalog,
                                           context=kind == "learned")
        model = rerankers.ltr() if kind == "ltr" else rerankers.learned_ltr()
        rows = cands.rows
        if kind == "learned":
            model.warm_up()
            if model.context and cands.context is not None:  # path match and kind (ranking.features.CONTEXT)
                rows = [a + b for a, b in zip(rows, cands.context)]
            if model.personal:  # the caller's own use of each candidate (ranking.personal)
                rows = [a + b for a, b in zip(rows, rerankers.usage().rows(user, ids, time.time()))]
        scores = model.score(rows)
        out = []
        for i, sc in sorted(zip(ids, scores), key=lambda x: -x[1]):
            h = by_id[i]
            h.ranks["ltr_input"] = round(h.score, 6)
            h.score = sc
            out.append(h)
        return out
    head, tail = hits[:k], hits[k:]
    passages = []
    for h in head:
        c = catalog.chunk(h.item_id, h.ord)
        passages.append(c.text if c else "")
    if kind == "maxsim":
        from spyglass.ranking.rerank import maxsim_scores

        scores = maxsim_scores(dense.embedder, text, passages)
    elif kind == "cross-encoder":
        scores = rerankers.cross_encoder().score(text, passages)
    else:
        raise ValueError(f"unknown reranker {kind!r}: use ltr, maxsim or cross-encoder")
    for h, sc in zip(head, scores):
        h.score = sc
    return sorted(head, key=lambda h: -h.score) + tail
