"""The embedding pass: bring the vector index in line with the catalog, after the keyword index — by value.

Keyword search works as soon as the lexical sync commits. This pass then (1) takes every item marked ``emb_dirty``
(new, changed or deleted), drops its old vectors and queues its passages with a priority, and (2) embeds the queue
best first, in small batches, so that useful vectors arrive early and the work can stop and resume at any batch:

- every document's first passage before any document's tail;
- prose (documents, mail, chat, notes, slides) before machine data; machine data (``[embedding] data_kinds``: csv,
  json, yaml, xml, code, logs) gets vectors for its first ``data_passages`` passages only, the rest stays keyword-only;
- recently modified documents first; documents opened or shown in results since are promoted (:data:`PROMOTED`);
- a passage whose normalised text already has a vector reuses it (duplicates and near-duplicates are embedded once).

Crash safety: vector keys are never reused, the catalog commits each batch, and the vector file is saved atomically at
checkpoints. Whatever a kill leaves — vectors the catalog forgot, catalog rows whose vector was not saved — is put
right by :func:`reconcile` when the index is next opened for writing: orphans are removed, lost passages re-queued.
A different embedding model than the manifest's clears every vector first: an index never mixes two models.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from spyglass.core.progress import NullProgress, Progress
from spyglass.index import manifest
from spyglass.index.store import DataDir
from spyglass.index.vectors import VEC_SCHEMA, VectorIndex

FIRST = 100.0  # a document's first passage
PROSE = 10.0  # documents, mail, chat, notes, slides (not machine data)
RECENT = 5.0  # at most, for a document modified now (halving every RECENT_HALF_LIFE_DAYS)
RECENT_HALF_LIFE_DAYS = 30.0
PROMOTED = 150.0  # a document the user opened or was shown in results: all its passages come next
_WORDS = re.compile(r"\w+")


@dataclass
class Policy:
    """What gets a vector, and in which order (see the module's docstring)."""

    data_kinds: frozenset[str] = frozenset({"csv", "json", "yaml", "xml", "code", "log"})
    data_passages: int = 1
    now: float = field(default_factory=time.time)

    @classmethod
    def from_settings(cls, s: Any) -> Policy:
        return cls(frozenset(k.lower() for k in s.data_kinds), int(s.data_passages))

    def is_data(self, type_: str, name: str) -> bool:
        ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        return type_ in self.data_kinds or ext in self.data_kinds

    def priority(self, type_: str, name: str, modified: float | None, ord_: int) -> float | None:
        """The passage's place in the queue (higher first), or None when it stays keyword-only."""
        data = self.is_data(type_, name)
        if data and ord_ >= self.data_passages:
            return None
        age_days = max(0.0, (self.now - modified) / 86400) if modified else 365.0
        recent = RECENT * 0.5 ** (age_days / RECENT_HALF_LIFE_DAYS)
        return (FIRST if ord_ == 0 else 0.0) + (0.0 if data else PROSE) + recent - ord_ * 1e-3


def text_hash(text: str) -> str:
    """The hash of a passage's words, lower-cased (whitespace, punctuation and case do not make a new vector)."""
    return hashlib.blake2b(" ".join(_WORDS.findall(text.lower())).encode(), digest_size=12).hexdigest()


def open_versioned(data: DataDir, section: str, dirname: str, schema: int, model_id: str, dim: int,
                   exact_max: int, write: bool, reset: Callable[[], None]) -> VectorIndex | None:
    """A vector index recorded in the manifest's ``section`` with its model, schema and dimension. A writer finding
    another model (or none) clears the folder, runs ``reset`` (in one catalog transaction: forget which items have
    vectors) and records the new model; a reader gets None when the stored vectors are from another model."""
    m = manifest.read(data.home) or {}
    sec = m.get(section) or {}
    path = data.home / dirname
    same = sec.get("model") == model_id and sec.get("schema") == schema and sec.get("dim") == dim
    if not write:
        return VectorIndex(path, dim, exact_max) if same and (path / "index.faiss").exists() else None
    if not same:
        if path.exists():
            shutil.rmtree(path)
        data.catalog.begin()
        reset()
        data.catalog.commit()
        m[section] = {"dir": dirname, "schema": schema, "engine": "faiss", "model": model_id, "dim": dim}
        manifest.write(data.home, m)
        data.manifest = m
    return VectorIndex(path, dim, exact_max)


def open_vectors(data: DataDir, model_id: str, dim: int, exact_max: int, write: bool) -> VectorIndex | None:
    """The passage vector index for ``model_id`` (:func:`open_versioned`)."""
    return open_versioned(data, "vectors", "vectors", VEC_SCHEMA, model_id, dim, exact_max, write,
                          data.catalog.reset_vectors)


def reconcile(data: DataDir, vecs: VectorIndex, policy: Policy) -> dict[str, int]:
    """Make the vector file and the catalog agree after a crash: vectors the catalog does not know are removed,
    catalog rows whose vector was never saved are dropped and their passages queued again."""
    import numpy as np

    cat = data.catalog
    in_index = np.asarray(vecs.keys(), dtype=np.int64)
    in_catalog = np.asarray(cat.all_vkeys(), dtype=np.int64)
    orphans = np.setdiff1d(in_index, in_catalog).tolist()
    lost = np.setdiff1d(in_catalog, in_index).tolist()
    with _transaction(cat):
        cat.drop_stale_queue()
        if lost:
            passages = cat.forget_vkeys(lost)
            _enqueue(cat, passages, policy)
    if orphans:
        vecs.remove(orphans)
        vecs.save()
    return {"orphans_removed": len(orphans), "requeued": len(lost)}


@dataclass
class Pass:
    """One embedding pass over a data directory's queue, which may stop early (a deadline, or another writer waiting)
    and resume later from the queue."""

    data: DataDir
    embedder: Any
    settings: Any  # spyglass.core.config.EmbeddingSettings
    progress: Progress = field(default_factory=NullProgress)
    on_checkpoint: Callable[[dict[str, Any]], None] | None = None
    batch: int = 64  # passages per model batch: small, so the best ones are saved first

    def run(self, deadline: float | None = None, should_stop: Callable[[], bool] | None = None,
            promote: Callable[[], list[str]] | None = None) -> dict[str, Any]:
        """Queue what changed, then embed the queue best first until it is empty, ``deadline`` (monotonic seconds)
        passes or ``should_stop()`` says so. ``promote()`` names documents to move up (opened, shown)."""
        cat, policy = self.data.catalog, Policy.from_settings(self.settings)
        vecs, stats = self._open(policy)
        stats.update(documents=0, passages=0, reused=0, removed=self._invalidate(vecs, policy))
        t0, embed_s, last_save = time.perf_counter(), 0.0, time.monotonic()
        total = cat.emb_pending()[1]
        self.progress.start("Embedding passages", total)
        try:
            while True:
                lifted = promote() if promote is not None else []
                if lifted:
                    with _transaction(cat):
                        cat.promote(lifted, PROMOTED)
                head = cat.emb_queue_head(self.batch)
                if not head or (deadline is not None and time.monotonic() > deadline) or (should_stop and should_stop()):
                    break
                te = time.perf_counter()
                stats["reused"] += self._embed(vecs, head)
                embed_s += time.perf_counter() - te
                stats["passages"] += len(head)
                self.progress.advance(len(head))
                if time.monotonic() - last_save > self._save_every(vecs):
                    self._checkpoint(vecs, stats, t0)
                    last_save = time.monotonic()
            self._checkpoint(vecs, stats, t0)
        finally:
            self.progress.stop()
        seconds = time.perf_counter() - t0
        pending = cat.emb_pending()
        return {**stats, "seconds": round(seconds, 2), "pending_passages": pending[1], "finished": pending[1] == 0,
                "passages_per_s": round(stats["passages"] / seconds, 1) if seconds else 0.0,
                "model_passages_per_s": round(stats["passages"] / embed_s, 1) if embed_s else 0.0}

    def _open(self, policy: Policy) -> tuple[VectorIndex, dict[str, Any]]:
        """The vector index, reconciled with the catalog when it is first opened by this writer (a writer that keeps
        the directory open — ``watch`` — reuses it between passes)."""
        key = self.embedder.model_id
        vecs = self.data.open_vectors.get(key)
        if isinstance(vecs, VectorIndex):
            return vecs, {}
        vecs = open_vectors(self.data, key, self.embedder.dim, self.settings.exact_max, write=True)
        assert vecs is not None
        self.data.open_vectors = {key: vecs}
        return vecs, reconcile(self.data, vecs, Policy.from_settings(self.settings))

    def _invalidate(self, vecs: VectorIndex, policy: Policy) -> int:
        """Drop the vectors of changed and deleted items and queue their passages (no model work: fast)."""
        cat, removed = self.data.catalog, 0
        while batch := cat.emb_dirty_batch(2000):
            ids = [b["id"] for b in batch]
            with _transaction(cat):
                keys = cat.drop_vectors(ids)
                rows = []
                for b in batch:
                    if b["status"] == "ok":
                        rows += _rows(policy, b["type"], b["name"], b["modified"], b["id"], range(b["n_chunks"]))
                cat.enqueue_passages(rows)
                cat.mark_embedded(ids)
            vecs.remove(keys)  # saved with the next checkpoint; a crash before it leaves orphans reconcile() removes
            removed += len(keys)
        return removed

    def _embed(self, vecs: VectorIndex, head: list[tuple[str, int, str]]) -> int:
        """Vectors for a batch of queued passages; a passage whose text already has one reuses it. Returns reuses."""
        hashes = [text_hash(t) for _, _, t in head]
        known = self.data.catalog.vkeys_by_hash(sorted(set(hashes)))
        fresh = sorted({h: i for i, h in enumerate(hashes) if h not in known}.items(), key=lambda kv: kv[1])
        new_vecs = self.embedder.embed([head[i][2] for _, i in fresh]) if fresh else None
        by_hash = {h: new_vecs[j] for j, (h, _) in enumerate(fresh)}
        reused = sorted({h for h in hashes if h in known})
        stored = dict(zip(reused, vecs.get([known[h] for h in reused]))) if reused else {}
        with _transaction(self.data.catalog) as cat:
            keys = cat.add_vkeys([(i, o, h) for (i, o, _), h in zip(head, hashes)])
            cat.dequeue_passages([(i, o) for i, o, _ in head])
        import numpy as np

        vecs.add(keys, np.vstack([by_hash[h] if h in by_hash else stored[h] for h in hashes]))
        return len(head) - len(fresh)

    def _save_every(self, vecs: VectorIndex) -> float:
        """Seconds between saves of the vector file: often while it is small (the first vectors matter most), then
        rarer as it grows (a save rewrites the whole file)."""
        return max(5.0, min(60.0, len(vecs) / 2000))

    def _checkpoint(self, vecs: VectorIndex, stats: dict[str, Any], t0: float) -> None:
        vecs.save()
        if self.on_checkpoint is not None:
            seconds = time.perf_counter() - t0
            self.on_checkpoint({**self.data.catalog.vector_counts(), "pending_passages":
                                self.data.catalog.emb_pending()[1], "embedded_now": stats["passages"],
                                "passages_per_s": round(stats["passages"] / seconds, 2) if seconds else 0.0})


def sync_vectors(data: DataDir, embedder: Any, settings: Any, progress: Progress | None = None,
                 deadline: float | None = None, should_stop: Callable[[], bool] | None = None,
                 on_checkpoint: Callable[[dict[str, Any]], None] | None = None,
                 promote: Callable[[], list[str]] | None = None) -> dict[str, Any]:
    """Embed what is pending (:class:`Pass`). Returns counts, the rate, and whether the queue is empty."""
    return Pass(data, embedder, settings, progress or NullProgress(), on_checkpoint).run(deadline, should_stop, promote)


def _rows(policy: Policy, type_: str, name: str, modified: float | None, item: str, ords: Any
          ) -> list[tuple[str, int, float]]:
    out = []
    for o in ords:
        p = policy.priority(type_, name, modified, o)
        if p is not None:
            out.append((item, o, p))
    return out


def _enqueue(cat: Any, passages: list[tuple[str, int]], policy: Policy) -> None:
    ctx = cat.passage_context(passages)
    rows = []
    for item, o in passages:
        c = ctx.get(item)
        if c is not None and c["status"] == "ok":
            rows += _rows(policy, c["type"], c["name"], c["modified"], item, [o])
    cat.enqueue_passages(rows)


class _transaction:
    """``with _transaction(catalog) as cat:`` one catalog transaction, rolled back on error."""

    def __init__(self, cat: Any) -> None:
        self.cat = cat

    def __enter__(self) -> Any:
        self.cat.begin()
        return self.cat

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        if exc_type is None:
            self.cat.commit()
        else:
            self.cat.rollback()


__all__ = ["Pass", "Policy", "sync_vectors", "open_vectors", "open_versioned", "reconcile", "text_hash",
           "FIRST", "PROSE", "PROMOTED"]
