"""The embedding pass: bring the vector index in line with the catalog, after the keyword index.

Keyword search is usable as soon as the lexical sync commits; this pass then embeds the passages of every item marked
``emb_dirty`` (new, changed, or deleted items) and commits in the same order as the lexical sync: vectors are saved
(atomic file replace) before the catalog marks the items clean, so a kill at any point only repeats some idempotent
work. Passages are read and embedded in batches of at most ``EMBED_BATCH``, however many one document has, so the
process's memory does not grow with the largest file. A different embedding model than the one recorded in the
manifest clears every vector first: an index never mixes two models.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from typing import Any

from spyglass.core.progress import NullProgress, Progress
from spyglass.index import manifest
from spyglass.index.store import DataDir
from spyglass.index.vectors import VEC_SCHEMA, VectorIndex


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


EMBED_BATCH = 512  # passages read from the catalog and embedded at once


def _passages(data: DataDir, ids: list[str], limit: int = EMBED_BATCH):
    """(item id, ord, text) of the live passages of ``ids``, in pages of at most ``limit`` rows."""
    q = ",".join("?" * len(ids))
    after: tuple[str, int] = ("", -1)
    while True:
        page = data.catalog.db.execute(
            f"SELECT c.item_id, c.ord, c.text FROM chunks c JOIN items i ON i.id = c.item_id "
            f"WHERE c.item_id IN ({q}) AND i.status = 'ok' AND (c.item_id, c.ord) > (?, ?) "
            f"ORDER BY c.item_id, c.ord LIMIT ?", (*ids, *after, limit)).fetchall()
        if not page:
            return
        yield page
        after = (page[-1][0], page[-1][1])


def reclaim(data: DataDir, vecs: VectorIndex) -> dict[str, int]:
    """Bring the vector index and the catalog back in agreement after a crash (the writer calls it on open).

    A run killed between the catalog's commit of new vkeys and the save of the index leaves vectors whose keys the
    catalog no longer holds (orphans: removed here) and, the other way round, items marked embedded whose vectors
    are not in the saved index (marked for embedding again). Half-written index files are removed."""
    import numpy as np

    for tmp in list(vecs.path.glob(".index.faiss.*.tmp")) + list(vecs.path.glob(".tombstones.*.npy")):
        tmp.unlink(missing_ok=True)  # the writer holds the lock: nobody else is writing these
    cat = data.catalog
    held = vecs.keys()
    known = np.fromiter((r[0] for r in cat.db.execute("SELECT vkey FROM embeddings")), dtype=np.int64)
    orphans = np.setdiff1d(held, known)
    done = np.fromiter((r[0] for r in cat.db.execute(
        "SELECT e.vkey FROM embeddings e JOIN items i ON i.id = e.item_id WHERE i.emb_dirty = 0")), dtype=np.int64)
    missing = np.setdiff1d(done, held)
    if len(orphans):
        vecs.remove(orphans.tolist())
        vecs.save()
    if len(missing):
        cat.begin()
        for k in range(0, len(missing), 500):
            part = missing[k : k + 500].tolist()
            cat.db.execute(f"UPDATE items SET emb_dirty = 1 WHERE id IN (SELECT item_id FROM embeddings WHERE vkey "
                           f"IN ({','.join('?' * len(part))}))", part)
        cat.commit()
    return {"orphan_vectors": int(len(orphans)), "missing_vectors": int(len(missing))}


def sync_vectors(data: DataDir, embedder: Any, exact_max: int = 50_000, progress: Progress | None = None,
                 batch_items: int = 256, save_every_s: float = 30.0) -> dict[str, Any]:
    """Embed what is pending. Returns counts and the embedding rate (and what :func:`reclaim` put right)."""
    progress = progress or NullProgress()
    cat = data.catalog
    vecs = open_vectors(data, embedder.model_id, embedder.dim, exact_max, write=True)
    assert vecs is not None
    fixed = reclaim(data, vecs)
    extra = {"reclaimed": fixed} if any(fixed.values()) else {}
    docs, passages = cat.emb_pending()
    if docs == 0 and cat.db.execute("SELECT count(*) FROM items WHERE emb_dirty = 1").fetchone()[0] == 0:
        return {"documents": 0, "passages": 0, "seconds": 0.0, "passages_per_s": 0.0, **extra}
    progress.start("Embedding passages", passages)
    t0 = time.perf_counter()
    embed_s = 0.0
    done_items: list[str] = []
    n_pass = 0
    last_save = time.monotonic()
    after = ""
    try:
        while True:
            batch = cat.emb_dirty_batch(batch_items, after)
            if not batch:
                break
            ids = [b[0] for b in batch]
            after = ids[-1]
            old = cat.vkeys(ids)
            cat.begin()
            cat.drop_vkeys(ids)
            cat.commit()
            vecs.remove(old)
            for rows in _passages(data, ids):
                cat.begin()
                keys = cat.assign_vkeys([(r[0], r[1]) for r in rows])
                cat.commit()
                te = time.perf_counter()
                v = embedder.embed([r[2] for r in rows])
                embed_s += time.perf_counter() - te
                vecs.add(keys, v)
                n_pass += len(rows)
                progress.advance(len(rows))
            done_items.extend(ids)
            if time.monotonic() - last_save > save_every_s:
                _checkpoint(data, vecs, done_items)
                done_items = []
                last_save = time.monotonic()
        _checkpoint(data, vecs, done_items)
    finally:
        progress.stop()
    seconds = time.perf_counter() - t0
    return {"documents": docs, "passages": n_pass, "seconds": round(seconds, 2),
            "passages_per_s": round(n_pass / seconds, 1) if seconds else 0.0,
            "model_passages_per_s": round(n_pass / embed_s, 1) if embed_s else 0.0, **extra}


def _checkpoint(data: DataDir, vecs: VectorIndex, done: list[str]) -> None:
    vecs.save()
    if done:
        data.catalog.begin()
        data.catalog.mark_embedded(done)
        data.catalog.commit()
