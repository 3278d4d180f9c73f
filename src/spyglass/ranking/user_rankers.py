"""Rankers learned per user from their own activity, and the ``learned`` reranker that runs the caller's own.

A ranker trained from one user's searches and clicks ranks only that user's searches: one user's clicks never steer
another's results (docs/learning.md, "Privacy between users"). Each user's versions live in their own folder::

    <models>/users/<key>/ranker-<time>.txt   LightGBM model (and its .json training report)
    <models>/users/<key>/ranker.json         the current one: {"user", "model", "evaluation", ...}

``key`` is the first 24 hex digits of SHA-256 of the user name (any name is a safe folder name). A request whose user
has no current ranker — or no user at all — passes through :class:`UserLtrReranker` unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from spyglass.core.query import SearchRequest
from spyglass.core.types import Ranking
from spyglass.index.catalog import Catalog
from spyglass.ranking.ltr import LtrRanker
from spyglass.ranking.personal import UsageCache
from spyglass.ranking.rerankers import LtrReranker, _rescored
from spyglass.ranking.user_training import prior_score
from spyglass.retrieval.dense import DenseRetriever
from spyglass.retrieval.lexical import LexicalRetriever

POINTER = "ranker.json"


class UserRankers:
    """The per-user rankers under ``<models>/users/`` (``models``: the data directory's ``models`` folder)."""

    def __init__(self, models: Path) -> None:
        self.root = models / "users"
        self.legacy = models  # before per-user rankers: one ranker.json for everyone (never used any more)
        self._loaded: dict[Path, LtrRanker] = {}  # folder -> the ranker of its current model file
        self._lock = threading.Lock()

    def folder(self, user: str) -> Path:
        return self.root / hashlib.sha256(user.encode("utf-8", "surrogatepass")).hexdigest()[:24]

    def info(self, user: str | None) -> dict[str, Any] | None:
        """The current ranker's pointer (its file, the user, the held-out evaluation), or None."""
        if not user:
            return None
        try:
            meta = json.loads((self.folder(user) / POINTER).read_text())
        except (OSError, ValueError):
            return None
        return meta if isinstance(meta, dict) and meta.get("user") == user else None

    def current(self, user: str | None) -> Path | None:
        """The file of ``user``'s current ranker, or None."""
        meta = self.info(user)
        if meta is None or not isinstance(meta.get("model"), str) or "/" in meta["model"]:
            return None
        f = self.folder(user or "") / meta["model"]
        return f if f.exists() else None

    def ranker(self, user: str | None) -> LtrRanker | None:
        """``user``'s current ranker, loaded once per model file (one kept per user)."""
        path = self.current(user)
        if path is None:
            return None
        with self._lock:
            loaded = self._loaded.get(path.parent)
            if loaded is None or loaded.path != path:  # a newer version was deployed, or one rolled back
                loaded = self._loaded[path.parent] = LtrRanker(path)
            return loaded

    def deploy(self, user: str, model: Path, meta: dict[str, Any]) -> Path:
        """Make ``model`` (a file in :meth:`folder`) ``user``'s current ranker; earlier versions stay beside it."""
        folder = self.folder(user)
        tmp = folder / (POINTER + ".tmp")
        tmp.write_text(json.dumps({**meta, "user": user, "model": model.name}, indent=2))
        os.replace(tmp, folder / POINTER)
        return folder / model.name

    def remove(self, user: str) -> int:
        """Delete every ranker trained on ``user``'s activity (theirs, and the shared one of an older version, which
        was trained on everyone's). Returns the number of model files removed."""
        n = _count(self.folder(user))
        shutil.rmtree(self.folder(user), ignore_errors=True)
        return n + self._remove_legacy()

    def remove_all(self) -> int:
        n = _count(self.root)
        shutil.rmtree(self.root, ignore_errors=True)
        return n + self._remove_legacy()

    def _remove_legacy(self) -> int:
        files = list(self.legacy.glob("ranker-*.txt")) if self.legacy.is_dir() else []
        for f in files + list(self.legacy.glob("ranker-*.json")) + [self.legacy / POINTER]:
            f.unlink(missing_ok=True)
        return len(files)


def _count(folder: Path) -> int:
    return len(list(folder.rglob("ranker-*.txt"))) if folder.is_dir() else 0


class UserLtrReranker:
    """The ``learned`` stage: the caller's own ranker (:class:`UserRankers`) over every candidate, with their usage
    features, added to the hybrid prior it was trained with (:func:`spyglass.ranking.user_training.prior_score`);
    without one (or without a user) the candidates come back as they came in. ``usage`` makes the usage
    features' source on first need (it opens the activity log: a search without a ranker never does)."""

    def __init__(self, name: str, rankers: UserRankers, lexical: LexicalRetriever, dense: DenseRetriever,
                 catalog: Catalog, usage: Callable[[], UsageCache] | None = None) -> None:
        self.name, self.rankers, self.lexical, self.dense, self.catalog = name, rankers, lexical, dense, catalog
        self._make_usage, self._usage = usage, None

    def run(self, request: SearchRequest, candidates: Ranking) -> Ranking:
        model = self.rankers.ranker(request.user)
        if model is None:
            return candidates
        if self._usage is None and self._make_usage is not None:
            self._usage = self._make_usage()
        beta = float((self.rankers.info(request.user) or {}).get("prior", 0.0))
        ltr = LtrReranker(self.name, model, self.lexical, self.dense, self.catalog, self._usage)
        hits, rows = ltr.features(request, candidates)  # in the fused (hybrid) order: position r is the prior's
        scores = [s + prior_score(beta, r) for r, s in enumerate(model.score(rows), 1)]
        return Ranking(_rescored(self.name, hits, scores), candidates.total, candidates.fuzzy, candidates.timings,
                       exact=candidates.exact)
