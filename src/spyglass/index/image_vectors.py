"""The image-embedding pass: one vector per image file from the text–image slot (:mod:`spyglass.models.clip`).

Runs after the keyword and passage-embedding passes, only when ``[media] clip_image_model`` is set. Vectors live in
``vectors-image/`` (an exact faiss index: a photo library of 100k images is 100k inner products, a few
milliseconds), keyed by ``image_vectors.ikey`` in the catalog, recorded in the manifest with the model id; another
model resets them, so the index never mixes two models.

Crash safety follows the passage pass: rows are written with ``done = 0`` first, the vectors are saved by an atomic
file replace, then the rows are marked done. A kill anywhere repeats some idempotent work; vectors whose row is gone
are removed on the next run and never match a search meanwhile (searches only consider keys that have a row).
"""

from __future__ import annotations

import os
import time
from typing import Any

from spyglass.core.progress import NullProgress, Progress
from spyglass.index.embedding import open_versioned
from spyglass.index.store import DataDir
from spyglass.index.vectors import VectorIndex

IMG_VEC_SCHEMA = 1
DIR = "vectors-image"
EXACT = 10**12  # never switch to HNSW: keys are re-added in place, which tombstones would hide


def open_image_vectors(data: DataDir, model_id: str, dim: int, write: bool) -> VectorIndex | None:
    return open_versioned(data, "image_vectors", DIR, IMG_VEC_SCHEMA, model_id, dim, EXACT, write,
                          lambda: data.catalog.db.execute("DELETE FROM image_vectors"))


def _pending(db: Any) -> list[tuple[str, bytes, str | None]]:
    """Image files whose vector is missing or of an older version of the file."""
    return db.execute(
        "SELECT i.id, i.path_raw, i.content_hash FROM items i LEFT JOIN image_vectors v ON v.item_id = i.id "
        "WHERE i.type = 'image' AND i.parent_id IS NULL AND i.path_raw IS NOT NULL "
        "AND i.status IN ('ok', 'metadata') "
        "AND (v.item_id IS NULL OR v.done = 0 OR coalesce(v.content_hash, '') != coalesce(i.content_hash, ''))"
    ).fetchall()


def _load(raw: bytes, size: int) -> Any:
    from spyglass.extraction.image import open_image

    img = open_image(os.fsdecode(raw))
    img.draft("RGB", (size * 2, size * 2))  # JPEG: decode at a reduced scale, far faster for camera photos
    img.seek(0)
    img.load()
    return img


def sync_image_vectors(data: DataDir, clip: Any, progress: Progress | None = None, batch: int = 32) -> dict[str, Any]:
    """Embed new and changed image files, drop the vectors of removed ones. Returns counts and the rate."""
    import numpy as np

    progress = progress or NullProgress()
    db = data.catalog.db
    vecs = open_image_vectors(data, clip.model_id, clip.dim, write=True)
    assert vecs is not None
    # Rows of items that are gone; then vectors without a row (a kill between the two commits of an earlier run).
    data.catalog.begin()
    gone = [r[0] for r in db.execute(
        "SELECT v.ikey FROM image_vectors v LEFT JOIN items i ON i.id = v.item_id "
        "WHERE i.id IS NULL OR i.status NOT IN ('ok', 'metadata')")]
    db.executemany("DELETE FROM image_vectors WHERE ikey = ?", [(k,) for k in gone])
    data.catalog.commit()
    if vecs.index.ntotal:
        from spyglass.index.vectors import _faiss

        stored = _faiss().vector_to_array(vecs.index.id_map)
        known = {r[0] for r in db.execute("SELECT ikey FROM image_vectors WHERE done = 1")}
        orphans = [int(k) for k in stored if int(k) not in known]
        vecs.remove(orphans)
    todo = _pending(db)
    if not todo:
        vecs.save()
        return {"images": 0, "failed": 0, "removed": len(gone), "seconds": 0.0, "images_per_s": 0.0}
    progress.start("Embedding images", len(todo))
    t0 = time.perf_counter()
    n_ok = n_bad = 0
    try:
        for b in range(0, len(todo), batch):
            part = todo[b : b + batch]
            data.catalog.begin()
            for iid, _raw, h in part:  # a new key per version: the old vector (if any) is removed below
                old = db.execute("SELECT ikey FROM image_vectors WHERE item_id = ?", (iid,)).fetchone()
                if old:
                    vecs.remove([int(old[0])])
                    db.execute("DELETE FROM image_vectors WHERE ikey = ?", (old[0],))
                db.execute("INSERT INTO image_vectors(item_id, content_hash, done) VALUES (?, ?, 0)", (iid, h))
            data.catalog.commit()
            keys = {r[0]: r[1] for r in db.execute(
                f"SELECT item_id, ikey FROM image_vectors WHERE item_id IN ({','.join('?' * len(part))})",
                [p[0] for p in part])}
            images, ok_keys, failed = [], [], []
            for iid, raw, _h in part:
                try:
                    images.append(_load(raw, clip.image_size))
                    ok_keys.append(keys[iid])
                except Exception:  # unreadable or vanished since indexing: no vector; the next run tries again
                    failed.append(keys[iid])
            if images:
                vecs.add(np.asarray(ok_keys, dtype=np.int64), clip.embed_images(images))
            vecs.save()
            data.catalog.begin()
            db.executemany("UPDATE image_vectors SET done = 1 WHERE ikey = ?", [(k,) for k in ok_keys])
            db.executemany("DELETE FROM image_vectors WHERE ikey = ?", [(k,) for k in failed])
            data.catalog.commit()
            n_ok += len(ok_keys)
            n_bad += len(failed)
            progress.advance(len(part))
    finally:
        progress.stop()
    s = time.perf_counter() - t0
    return {"images": n_ok, "failed": n_bad, "removed": len(gone), "seconds": round(s, 2),
            "images_per_s": round(n_ok / s, 1) if s else 0.0}
