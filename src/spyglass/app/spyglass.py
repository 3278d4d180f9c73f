"""``Spyglass(home)``: index, search, watch and report on one data directory."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path
from typing import Any

from spyglass.core import acl
from spyglass.core.config import Config, default_home, load_config
from spyglass.core.errors import MissingExtraError, NotFoundError, SpyglassError
from spyglass.core.progress import Progress
from spyglass.core.types import Hit, SearchResult
from spyglass.index.catalog import Source
from spyglass.index.pipeline import Indexer, RunStats
from spyglass.index.store import DataDir
from spyglass.retrieval.query import Filters, apply_filter, parse

__all__ = ["Spyglass", "Filters", "apply_filter"]


class Spyglass:
    def __init__(self, home: str | Path | None = None, config: Config | None = None) -> None:
        self.home = Path(home).expanduser().resolve() if home else default_home()
        self.config = config if config is not None else load_config(self.home / "config.toml")
        self._reader: DataDir | None = None
        self._embedder = None
        self._dense_cache = None
        self._ltr = None
        self._cross = None
        self._accounts = None
        self._activity = None
        self._learned = None
        self._clip = None
        self._images_cache = None

    # -- writing ----------------------------------------------------------------------------------------------
    def open_writer(self) -> DataDir:
        self.close()
        return DataDir(self.home, write=True)

    def index(self, paths: list[str] | None = None, progress: Progress | None = None,
              retry_failed: bool = False, follow_links_outside: bool | None = None) -> RunStats:
        """Index ``paths`` (adding them as sources), or every known source when ``paths`` is empty.
        ``follow_links_outside``: follow symbolic links that leave each root (kept with the source)."""
        with self.open_writer() as data:
            indexer = Indexer(data, self.config, progress)
            run = data.catalog.start_run("index")
            total = RunStats()
            try:
                indexer.sync_lexical()  # finish whatever a killed run left behind
                sources = ([indexer.add_source(p, follow_links_outside) for p in paths] if paths
                           else data.catalog.sources())
                if not sources:
                    raise SpyglassError("nothing to index: give a folder, e.g. `spyglass index ~/Documents`")
                for src in sources:
                    total.merge(indexer.index_source(src, retry_failed=retry_failed))
                indexer.close()
                total.semantic, total.images = self.sync_vectors(data, progress)
            finally:
                indexer.close()
                data.catalog.finish_run(run, total.as_dict())
            return total

    def sync_vectors(self, data: DataDir, progress: Progress | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """After the keyword index is committed: passage embeddings, then image vectors when a text–image model is
        configured. A missing runtime or a wrong model path is reported, never fatal: keyword search works."""
        semantic: dict[str, Any] = {}
        images: dict[str, Any] = {}
        if self.config.embedding.enabled:
            try:
                semantic = self.embed_pending(data, progress)
            except MissingExtraError as exc:
                semantic = {"unavailable": str(exc)}
        if self.config.media.clip_image_model:
            try:
                images = self.embed_images(data, progress)
            except SpyglassError as exc:
                images = {"unavailable": str(exc)}
        return semantic, images

    def embed_pending(self, data: DataDir, progress: Progress | None = None) -> dict[str, Any]:
        """Embed every passage not yet in the vector index (after the keyword index is committed)."""
        from spyglass.index.embedding import sync_vectors

        return sync_vectors(data, self.embedder(), self.config.embedding.exact_max, progress)

    def embed_images(self, data: DataDir, progress: Progress | None = None) -> dict[str, Any]:
        """One vector per image file from the text–image slot (``[media] clip_*``), for photo search by description."""
        from spyglass.index.image_vectors import sync_image_vectors

        clip = self.clip()
        if clip is None:
            raise SpyglassError("no text-image model: set [media] clip_image_model and clip_text_model")
        return sync_image_vectors(data, clip, progress)

    def clip(self):
        """The text–image model slot (:mod:`spyglass.models.clip`), or None when not configured."""
        m = self.config.media
        if not m.clip_image_model:
            return None
        if self._clip is None:
            from spyglass.models.clip import ClipModel

            if not m.clip_text_model:
                raise SpyglassError("[media] clip_image_model is set but clip_text_model is not: both towers are needed")
            self._clip = ClipModel(m.clip_image_model, m.clip_text_model, m.clip_tokenizer, m.clip_image_size,
                                   tuple(m.clip_mean), tuple(m.clip_std), m.clip_max_length,
                                   threads=self.config.embedding.threads)
        return self._clip

    def _images(self):
        """The photo-by-description retriever, or None when no text–image model is configured or indexed."""
        if self._images_cache is not None:
            return self._images_cache
        clip = self.clip()
        if clip is None:
            return None
        from spyglass.index.image_vectors import open_image_vectors
        from spyglass.retrieval.images import ImageRetriever

        data = self.reader()
        sec = data.manifest.get("image_vectors") or {}
        if not sec:
            return None
        vecs = open_image_vectors(data, clip.model_id, int(sec.get("dim", 0)), write=False)
        if vecs is None:
            return None
        self._images_cache = ImageRetriever(data.catalog, vecs, clip)
        return self._images_cache

    def remove_source(self, root: str) -> int:
        with self.open_writer() as data:
            src = data.catalog.source_by_root(os.path.abspath(os.path.expanduser(root)))
            if src is None:
                raise SpyglassError(f"{root} is not a source (see `spyglass sources`)")
            indexer = Indexer(data, self.config)
            return indexer.remove_source(src)

    # -- reading ----------------------------------------------------------------------------------------------
    def reader(self) -> DataDir:
        if self._reader is None:
            self._reader = DataDir(self.home, write=False)
        return self._reader

    def close(self) -> None:
        """Release the index readers (the next read reopens them, seeing the latest commit)."""
        self._dense_cache = None
        self._images_cache = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def close_all(self) -> None:
        self.close()
        if self._activity is not None:
            self._activity.catalog.close()
            self._activity = None
        if self._accounts is not None:
            self._accounts.close()
            self._accounts = None

    def principals_for(self, user: str) -> list[str]:
        """What a user may read: their user and group principals (POSIX and configured), their mail addresses
        and configured principals, and ``everyone``."""
        out = set(acl.os_user_principals(user))
        u = self.config.users.get(user)
        if u is not None:
            out.update(acl.group(g) for g in u.groups)
            out.update(acl.email(e) for e in u.emails)
            out.update(u.principals)
        if (self.home / "accounts.sqlite3").exists():
            account = self.accounts.get(user)
            if account is not None:
                out.add(acl.user(account.name))
                out.update(acl.group(g) for g in account.groups)
                out.update(acl.email(e) for e in account.emails)
        out.add(acl.EVERYONE)
        return sorted(out)

    @property
    def accounts(self):
        """Users, tokens and sessions of a team install (:mod:`spyglass.app.accounts`)."""
        if self._accounts is None:
            from spyglass.app.accounts import Accounts

            self._accounts = Accounts(self.home)
        return self._accounts

    def document(self, item_id: str, principals: list[str] | None = None, passages: int = 50) -> dict[str, Any]:
        """A document's metadata and its first passages, only when ``principals`` may read it (checked in the
        catalog query; an unknown and a forbidden id give the same error)."""
        data = self.reader()
        it = data.catalog.visible_item(item_id, principals)
        if it is None:
            raise NotFoundError(f"no document {item_id!r}")
        chunks = data.catalog.chunks_of(item_id, passages)
        raw = it.pop("path_raw")
        it["file"] = os.fsdecode(raw) if raw and it["parent_id"] is None else None
        it["passages"] = [{"ord": c.ord, "text": c.text, "page": c.page, "label": c.label} for c in chunks]
        return it

    def autocomplete(self, prefix: str, principals: list[str] | None = None, limit: int = 8) -> list[dict[str, str]]:
        """Titles of readable documents matching what is typed so far (the last word as a prefix). Built from an
        access-filtered search, so it never suggests words from documents the caller may not read."""
        words = [w for w in "".join(c if c.isalnum() else " " for c in prefix).split() if w]
        if not words:
            return []
        q = " ".join(words[:-1] + [words[-1] + "*"])
        res = self.search(q, limit=limit, principals=principals, mode="keyword", snippets=False)
        return [{"id": h.id, "title": h.title, "path": h.path, "type": h.type} for h in res.hits]

    def facets(self, query: str, filters: Filters | None = None, principals: list[str] | None = None,
               depth: int = 1000) -> dict[str, list[tuple[str, int]]]:
        """Facet counts (type, source, year) over the first ``depth`` keyword matches the caller may read."""
        from spyglass.retrieval.lexical import LexicalRetriever

        data = self.reader()
        parsed = parse(query)
        if filters is not None:
            parsed.filters = parsed.filters.merge(filters)
        _resolve_catalog_filters(data.catalog, parsed.filters)
        sources = data.catalog.sources()
        source_ids = {s.name: str(s.id) for s in sources} | {s.root: str(s.id) for s in sources}
        res = LexicalRetriever(data.lexical, self.config.search).search(
            parsed, limit=depth, principals=principals, source_ids=source_ids, snippets=False)
        return data.catalog.facet_counts([h.item_id for h in res.hits])

    def sources(self) -> list[Source]:
        return self.reader().catalog.sources()

    def search(self, query: str, limit: int | None = None, offset: int = 0, filters: Filters | None = None,
               as_user: str | None = None, principals: list[str] | None = None, mode: str | None = None,
               fusion: str | None = None, snippets: bool = True, syntax: str = "query",
               rerank: str | None = None, log_user: str | None = None, _collect: list | None = None) -> SearchResult:
        """Search. ``mode``: keyword, semantic or hybrid (default: hybrid when the index has vectors, else keyword).
        ``as_user`` (or explicit ``principals``) restricts results to what that caller may read; the restriction is
        part of each index query. ``syntax="plain"`` reads the query as a bag of words (no operators or filters)."""
        from spyglass.ranking.hybrid import MODES, HybridSettings, run_search
        from spyglass.retrieval.lexical import LexicalRetriever
        from spyglass.retrieval.query import parse_plain

        data = self.reader()
        parsed = parse_plain(query) if syntax == "plain" else parse(query)
        if filters is not None:
            parsed.filters = parsed.filters.merge(filters)
        _resolve_catalog_filters(data.catalog, parsed.filters)
        if as_user is not None:
            principals = self.principals_for(as_user)
        limit = limit or self.config.search.default_limit
        mode = mode or self.config.search.mode
        if mode not in MODES:
            raise SpyglassError(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
        sources = data.catalog.sources()
        source_ids = {s.name: str(s.id) for s in sources} | {s.root: str(s.id) for s in sources}
        lexical = LexicalRetriever(data.lexical, self.config.search)
        dense = self._dense(required=mode == "semantic" or bool(rerank)) if (mode != "keyword" or rerank) else None
        requested_mode = mode
        if dense is None:
            mode = "keyword"
        if rerank is None:
            rerank = self.config.rerank.default or None
            if rerank is None and mode == "hybrid" and self.config.rerank.learned and self.learned_model() is not None:
                rerank = "learned"  # trained on this collection's own activity log
            if rerank and dense is None:
                rerank = None  # no vectors yet: the default reranker needs them
        if rerank in ("none", ""):
            rerank = None
        if rerank == "learned" and self.learned_model() is None:
            raise SpyglassError("no learned ranker yet: run `spyglass train ranker` after some use")
        if rerank is not None and rerank not in ("ltr", "learned", "maxsim", "cross-encoder"):
            raise SpyglassError(f"unknown reranker {rerank!r}: use ltr, learned, maxsim, cross-encoder or none")
        hs = HybridSettings(fusion=fusion or self.config.search.fusion, depth=self.config.search.fusion_depth,
                            rrf_k=self.config.search.rrf_k, alpha=self.config.search.alpha,
                            rerank_k=self.config.rerank.k)
        t0 = time.perf_counter()
        image_run = None
        if set(parsed.filters.types) == {"image"} and requested_mode != "keyword" and _collect is None:
            try:
                images = self._images()  # photo search by description: the text-image slot, when configured
            except SpyglassError:  # a model file moved since indexing: the text signals still rank the photos
                images = None
            if images is not None:
                words = " ".join(c.text for c in parsed.positive if c.field is None) or query
                image_run, _ms = images.search(words, k=max(hs.depth, offset + limit), filters=parsed.filters,
                                               principals=principals, source_ids=source_ids)
        res = run_search(mode, parsed, query, lexical, dense, data.catalog, limit=limit, offset=offset,
                         principals=principals, source_ids=source_ids, settings=hs, snippets=snippets,
                         rerank=rerank, rerankers=self, collect=_collect, image_run=image_run,
                         image_weight=self.config.media.clip_weight, user=log_user or as_user)
        items = data.catalog.items([h.item_id for h in res.hits])
        hits: list[Hit] = []
        for h in res.hits:
            it = items.get(h.item_id)
            if it is None:  # removed between the index commit and now
                continue
            hits.append(
                Hit(
                    id=h.item_id,
                    score=round(h.score, 6),
                    path=it["path"],
                    title=it["title"] or it["name"],
                    type=it["type"],
                    modified=it["modified"],
                    snippet=h.snippet,
                    snippet_html=h.snippet_html,
                    page=h.page,
                    chunk=h.ord,
                    uri=it["uri"],
                    source=str(it["source_id"]),
                    parent_id=it["parent_id"],
                    extra={"name": it["name"], "author": it["author"], "size": it["size"],
                           "highlights": h.highlights, "status": it["status"], "ranks": h.ranks},
                    label=_label(data.catalog, h.item_id, h.ord) if it["type"] in LABELLED_TYPES else None,
                )
            )
        out = SearchResult(query=query, total=res.total, hits=hits, took_ms=(time.perf_counter() - t0) * 1000,
                           corrected={w: "~" for w in res.fuzzy}, mode=mode + ("+image" if image_run is not None else ""))
        if log_user and self.config.activity.enabled:  # learning from use: what this user was shown
            a = self.config.activity
            if a.randomize and offset == 0 and len(hits) > 1 and random.random() < a.randomize_share:
                k = random.randrange(1, len(hits))  # RandPair: lets the position bias be measured from the log
                hits[k - 1], hits[k] = hits[k], hits[k - 1]
            out.search_id = self.activity().log_search(log_user, query, mode, [h.id for h in hits], offset)
        return out

    def activity(self):
        """The activity log (:mod:`spyglass.index.activity`) on its own catalog connection."""
        if self._activity is None:
            from spyglass.index.activity import ActivityLog
            from spyglass.index.catalog import Catalog

            if not (self.home / "catalog.sqlite3").exists():
                raise SpyglassError(f"no index at {self.home}: run `spyglass index FOLDER` first")
            self._activity = ActivityLog(Catalog(self.home / "catalog.sqlite3"))
        return self._activity

    def ask(self, question: str, as_user: str | None = None, principals: list[str] | None = None,
            history: list[tuple[str, str]] | None = None, backend: str | None = None, stream: bool = False,
            filters: Filters | None = None) -> Any:
        """Answer from the files the caller may read. ``stream=True`` gives the events of
        :func:`spyglass.answering.rag.answer_events`; otherwise the final answer as a dict."""
        from spyglass.answering.rag import final
        from spyglass.app.ask import ask_events

        if not question.strip():
            raise SpyglassError("ask a question")
        if as_user is not None:
            principals = self.principals_for(as_user)
        events = ask_events(self, question, principals, history, backend, filters=filters)
        return events if stream else final(events)

    def summarize(self, path: str, as_user: str | None = None, principals: list[str] | None = None,
                  backend: str | None = None, sentences: int = 5) -> dict[str, Any]:
        """A summary of one indexed document the caller may read (in parts, then combined)."""
        from spyglass.app.ask import summarize

        if as_user is not None:
            principals = self.principals_for(as_user)
        return summarize(self, path, principals, backend, sentences)

    def candidate_features(self, query: str, syntax: str = "plain", context: bool = False
                           ) -> tuple[list[str], list[list[float]]]:
        """The learned ranker's candidates for a query (document ids) and their feature rows, for training
        (:data:`spyglass.ranking.features.FEATURES`, then ``CONTEXT`` when ``context``)."""
        collect: list = []
        self.search(query, limit=1, mode="hybrid", snippets=False, syntax=syntax, rerank="ltr", _collect=collect)
        if not collect:
            return [], []
        _by_id, ids, cands = collect[0]
        if context and cands.context is not None:
            return ids, [a + b for a, b in zip(cands.rows, cands.context)]
        return ids, cands.rows

    def ltr(self):
        """The learned ranker (the packaged model unless ``[rerank] ltr_model`` names another)."""
        if self._ltr is None:
            from spyglass.ranking.ltr import LtrRanker

            self._ltr = LtrRanker(self.config.rerank.ltr_model or None)
        return self._ltr

    def learned_model(self) -> Path | None:
        """The current ranker trained from the activity log (``models/ranker.json`` names it), if any."""
        import json

        pointer = self.home / "models" / "ranker.json"
        if not pointer.exists():
            return None
        try:
            f = self.home / "models" / json.loads(pointer.read_text())["model"]
        except (ValueError, KeyError, OSError):
            return None
        return f if f.exists() else None

    def usage(self):
        """Usage statistics from the activity log for the learned ranker's personal features (kept, and extended
        with the events logged since the last search)."""
        from spyglass.app.learning import usage

        return usage(self)

    def learned_ltr(self):
        from spyglass.ranking.ltr import LtrRanker

        path = self.learned_model()
        if self._learned is None or self._learned.path != path:
            self._learned = LtrRanker(path)
        return self._learned

    def cross_encoder(self):
        if self._cross is None:
            from spyglass.ranking.cross_encoder import CrossEncoder

            r = self.config.rerank
            if not r.cross_encoder:
                raise SpyglassError("no cross-encoder configured: set [rerank] cross_encoder = PATH.onnx")
            self._cross = CrossEncoder(r.cross_encoder, r.cross_encoder_tokenizer, threads=self.config.embedding.threads)
        return self._cross

    def embedder(self):
        if self._embedder is None:
            from spyglass.models.factory import make_embedder

            self._embedder = make_embedder(self.config.embedding)
        return self._embedder

    def _dense(self, required: bool = False):
        """The semantic retriever, or None when semantic search is off or the index has no vectors yet."""
        if self._dense_cache is not None:
            return self._dense_cache
        from spyglass.index.embedding import open_vectors
        from spyglass.retrieval.dense import DenseRetriever

        if not self.config.embedding.enabled:
            if required:
                raise SpyglassError("semantic search is disabled ([embedding] enabled = false)")
            return None
        data = self.reader()
        vec = (data.manifest.get("vectors") or {})
        if not vec:
            if required:
                raise SpyglassError("no embeddings yet: run `spyglass index` to build them")
            return None
        emb = self.embedder()
        vectors = open_vectors(data, emb.model_id, int(vec.get("dim", 0)) or emb.dim, self.config.embedding.exact_max,
                               write=False)
        if vectors is None:
            if required:
                raise SpyglassError("the embeddings were made by another model: run `spyglass index` to rebuild them")
            return None
        self._dense_cache = DenseRetriever(data.catalog, vectors, emb)
        return self._dense_cache

    def status(self) -> dict[str, Any]:
        from spyglass.app.status import collect_status

        return collect_status(self.reader())

    def watch(self, paths: list[str] | None = None, on_change: Any = None, stop: Any = None,
              polling: bool = False, debounce: float = 0.5, ready: Any = None) -> None:
        """Keep the index live until ``stop`` (a ``threading.Event``) is set. Blocks."""
        from spyglass.app.watcher import watch

        watch(self, paths or [], on_change=on_change, stop=stop, polling=polling, debounce=debounce, ready=ready)


def _resolve_catalog_filters(catalog: Any, f: Any) -> None:
    """``topic:``, ``tag:``, ``camera:``, ``near:`` and ``taken:`` select documents by what the catalog holds (topic and tag
    tables, EXIF metadata): turn them into the document ids both index queries filter on (inside the query, like
    every other filter)."""
    import sqlite3

    sets: list[set[str]] = []
    try:
        for t in sorted(set(f.topics)):
            sets.append({r[0] for r in catalog.db.execute("SELECT item_id FROM item_topics WHERE topic_id = ?", (t,))})
        for tag in sorted(set(f.tags)):
            sets.append({r[0] for r in catalog.db.execute(
                "SELECT item_id FROM tags WHERE tag = ? AND origin IN ('user', 'accepted', 'plan')", (tag,))})
    except sqlite3.OperationalError:  # a catalog from before organize: nothing has a topic or a tag yet
        sets.append(set())
    for cam in sorted(set(f.cameras)):
        words = cam.split()
        where = " AND ".join("instr(lower(json_extract(meta, '$.camera')), ?) > 0" for _ in words) or "0"
        sets.append({r[0] for r in catalog.db.execute(
            f"SELECT id FROM items WHERE meta LIKE '%camera%' AND {where}", words)})
    if f.near is not None:
        sets.append(_near(catalog, *f.near))
    if f.taken is not None:  # EXIF date taken (kept in the metadata; `created` may come from elsewhere)
        sets.append({r[0] for r in catalog.db.execute(
            "SELECT id FROM items WHERE meta LIKE '%taken%' AND json_extract(meta, '$.taken') >= ? "
            "AND json_extract(meta, '$.taken') < ?", f.taken)})
    if sets:
        ids = set.intersection(*sets)
        f.item_ids = sorted(ids if f.item_ids is None else ids & set(f.item_ids))


def _near(catalog: Any, lat: float, lon: float, km: float) -> set[str]:
    """Images whose EXIF GPS position is within ``km`` of (lat, lon): a bounding box in SQL, then the great-circle
    (haversine) distance on a sphere of radius 6371 km."""
    import math

    dlat = km / 111.2
    dlon = km / max(1e-6, 111.2 * math.cos(math.radians(lat)))
    rows = catalog.db.execute(
        "SELECT id, json_extract(meta, '$.gps_lat'), json_extract(meta, '$.gps_lon') FROM items "
        "WHERE meta LIKE '%gps_lat%' AND json_extract(meta, '$.gps_lat') BETWEEN ? AND ?",
        (lat - dlat, lat + dlat)).fetchall()
    out = set()
    for iid, la, lo in rows:
        if la is None or lo is None or (dlon < 180 and abs((lo - lon + 180) % 360 - 180) > dlon):
            continue
        p1, p2 = math.radians(lat), math.radians(la)
        h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lo - lon) / 2) ** 2
        if 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h))) <= km:
            out.add(iid)
    return out


LABELLED_TYPES = frozenset({"audio", "video", "xlsx", "ods", "csv"})  # where a page number says nothing


def _label(catalog: Any, item_id: str, ord_: int | None) -> str | None:
    c = catalog.chunk(item_id, ord_) if ord_ is not None else None
    return c.label if c is not None else None
