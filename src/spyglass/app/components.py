"""The composition root's parts for one data directory: the read handles, the models (loaded on first use) and the
search pipeline built from configuration. :class:`spyglass.app.spyglass.Spyglass` owns one; services (organize,
learning, watch) are handed the parts they need from it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from spyglass.core.config import Config
from spyglass.core.errors import SpyglassError
from spyglass.index.store import DataDir


class Components:
    def __init__(self, home: Path, config: Config) -> None:
        self.home, self.config = home, config
        self._reader: DataDir | None = None
        self._embedder: Any = None
        self._dense: Any = None
        self._clip: Any = None
        self._images: Any = None
        self._ltr: Any = None
        self._learned: Any = None
        self._cross: Any = None
        self._activity: Any = None
        self._pipeline: Any = None
        self._pipeline_key: tuple[Any, ...] | None = None

    # -- stores -------------------------------------------------------------------------------------------------
    def reader(self) -> DataDir:
        if self._reader is None:
            self._reader = DataDir(self.home, write=False)
        return self._reader

    def close(self) -> None:
        """Release the index readers (the next read reopens them, seeing the latest commit)."""
        self._dense = self._images = self._pipeline = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def close_all(self) -> None:
        self.close()
        if self._activity is not None:
            self._activity.catalog.close()
            self._activity = None

    def activity(self) -> Any:
        """The activity log (:mod:`spyglass.index.activity`) on its own catalog connection."""
        if self._activity is None:
            from spyglass.index.activity import ActivityLog
            from spyglass.index.catalog import Catalog

            if not (self.home / "catalog.sqlite3").exists():
                raise SpyglassError(f"no index at {self.home}: run `spyglass index FOLDER` first")
            self._activity = ActivityLog(Catalog(self.home / "catalog.sqlite3", init=False))
        return self._activity

    # -- models -------------------------------------------------------------------------------------------------
    def embedder(self) -> Any:
        if self._embedder is None:
            from spyglass.models.factory import make_embedder

            self._embedder = make_embedder(self.config.embedding)
        return self._embedder

    def share_embedder(self, embedder: Any) -> None:
        """Use an embedder another handle already loaded (the server's read pool shares one)."""
        if self._embedder is None:
            self._embedder = embedder

    def clip(self) -> Any:
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

    def ltr(self) -> Any:
        """The learned ranker (the packaged model unless ``[rerank] ltr_model`` names another)."""
        if self._ltr is None:
            from spyglass.ranking.ltr import LtrRanker

            self._ltr = LtrRanker(self.config.rerank.ltr_model or None)
        return self._ltr

    def learned_model(self) -> Path | None:
        """The current ranker trained from the activity log (``models/ranker.json`` names it), if any."""
        pointer = self.home / "models" / "ranker.json"
        if not pointer.exists():
            return None
        try:
            f = self.home / "models" / json.loads(pointer.read_text())["model"]
        except (ValueError, KeyError, OSError):
            return None
        return f if f.exists() else None

    def learned_ltr(self) -> Any:
        from spyglass.ranking.ltr import LtrRanker

        path = self.learned_model()
        if self._learned is None or self._learned.path != path:
            self._learned = LtrRanker(path)
        return self._learned

    def cross_encoder(self) -> Any:
        if self._cross is None:
            from spyglass.ranking.cross_encoder import CrossEncoder

            r = self.config.rerank
            if not r.cross_encoder:
                raise SpyglassError("no cross-encoder configured: set [rerank] cross_encoder = PATH.onnx")
            self._cross = CrossEncoder(r.cross_encoder, r.cross_encoder_tokenizer, threads=self.config.embedding.threads)
        return self._cross

    # -- retrievers ---------------------------------------------------------------------------------------------
    def dense(self, required: bool = False) -> Any:
        """The semantic retriever, or None when semantic search is off or the index has no vectors yet."""
        if self._dense is not None:
            return self._dense
        from spyglass.index.embedding import open_vectors
        from spyglass.retrieval.dense import DenseRetriever

        def unavailable(why: str) -> None:
            if required:
                raise SpyglassError(why)

        if not self.config.embedding.enabled:
            return unavailable("semantic search is disabled ([embedding] enabled = false)")
        data = self.reader()
        vec = data.manifest.get("vectors") or {}
        if not vec:
            return unavailable("no embeddings yet: run `spyglass index` to build them")
        emb = self.embedder()
        vectors = open_vectors(data, emb.model_id, int(vec.get("dim", 0)) or emb.dim, self.config.embedding.exact_max,
                               write=False)
        if vectors is None:
            return unavailable("the embeddings were made by another model: run `spyglass index` to rebuild them")
        self._dense = DenseRetriever(data.catalog, vectors, emb)
        return self._dense

    def images(self) -> Any:
        """The photo-by-description retriever, or None when no text–image model is configured or indexed."""
        if self._images is not None:
            return self._images
        clip = self.clip()
        if clip is None:
            return None
        from spyglass.index.image_vectors import open_image_vectors
        from spyglass.retrieval.images import ImageRetriever

        data = self.reader()
        sec = data.manifest.get("image_vectors") or {}
        vecs = open_image_vectors(data, clip.model_id, int(sec.get("dim", 0)), write=False) if sec else None
        if vecs is not None:
            self._images = ImageRetriever(data.catalog, vecs, clip)
        return self._images

    # -- the search pipeline ------------------------------------------------------------------------------------
    def pipeline(self) -> Any:
        """The search pipeline for the current index (rebuilt after :meth:`close`)."""
        key = (self.learned_model(), _stamp(self.home / "manifest.json"), _stamp(self.home / "vectors" / "index.faiss"))
        if self._pipeline is not None and key != self._pipeline_key:  # new vectors saved, a ranker trained…
            self._dense = self._images = self._pipeline = None
            if self._reader is not None:
                from spyglass.index import manifest

                self._reader.manifest = manifest.read(self.home) or self._reader.manifest
        if self._pipeline is None:
            from spyglass.app.search import build_pipeline

            self._pipeline, self._pipeline_key = build_pipeline(self), key
        return self._pipeline


def _stamp(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None
