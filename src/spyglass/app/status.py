"""What ``spyglass status`` reports: counts per type and status, failures with reasons, sizes, the last run."""

from __future__ import annotations

from typing import Any

from spyglass.index.store import DataDir, wide_modes


def collect_status(data: DataDir) -> dict[str, Any]:
    db = data.catalog.db
    by_type: dict[str, dict[str, int]] = {}
    for typ, status, n in db.execute(
        "SELECT type, status, count(*) FROM items WHERE status != 'deleted' GROUP BY type, status"
    ):
        by_type.setdefault(typ, {})[status] = n
    totals = {s: n for s, n in db.execute("SELECT status, count(*) FROM items WHERE status != 'deleted' GROUP BY 1")}
    failures = [
        {"path": p, "name": nm, "id": i, "kind": k, "reason": r, "in": pid}
        for i, p, nm, k, r, pid in db.execute(
            "SELECT id, path, name, error_kind, error, parent_id FROM items WHERE status = 'error' "
            "ORDER BY error_kind, path LIMIT 1000"
        )
    ]
    reasons = {k: n for k, n in db.execute(
        "SELECT error_kind, count(*) FROM items WHERE status = 'error' GROUP BY 1 ORDER BY 2 DESC")}
    passages = db.execute("SELECT count(*) FROM chunks").fetchone()[0]
    pending = data.catalog.dirty_count()
    sources = [
        {"id": s.id, "kind": s.kind, "root": s.root, "name": s.name, "last_indexed": s.last_indexed,
         "items": db.execute("SELECT count(*) FROM items WHERE source_id = ? AND status != 'deleted'",
                             (s.id,)).fetchone()[0]}
        for s in data.catalog.sources()
        if "(removed" not in s.root
    ]
    emb_docs, emb_passages = data.catalog.emb_pending()
    with_text = db.execute("SELECT count(*), coalesce(sum(n_chunks), 0) FROM items "
                           "WHERE status = 'ok' AND n_chunks > 0").fetchone()
    vec = data.manifest.get("vectors") or {}
    semantic = {
        "model": vec.get("model"),
        "embedded_passages": db.execute("SELECT count(*) FROM embeddings").fetchone()[0],
        "pending_documents": emb_docs if vec else with_text[0],
        "pending_passages": emb_passages if vec else with_text[1],
        "coverage": round(1 - (emb_passages / with_text[1]), 4) if vec and with_text[1] else (1.0 if vec else 0.0),
    }
    sizes = data.size_bytes()
    ocr_missing = db.execute("SELECT count(*) FROM items WHERE status != 'deleted' "
                             "AND error_kind = 'ocr-missing'").fetchone()[0]
    captions_missing = db.execute("SELECT count(*) FROM items WHERE status != 'deleted' "
                                  "AND error_kind = 'caption-missing'").fetchone()[0]
    media = {"ocr_pending": ocr_missing, "captions_pending": captions_missing}
    if captions_missing:
        media["caption_hint"] = f"{captions_missing} images have no caption yet (the caption endpoint failed): " \
                                "run `spyglass index --retry-failed` when it is up"
    if ocr_missing:
        from spyglass.extraction.ocr import INSTALL_HINT

        media["hint"] = f"{ocr_missing} images or scanned PDFs were indexed without OCR: {INSTALL_HINT}, then " \
                        "run `spyglass index --retry-failed`"
    img = data.manifest.get("image_vectors") or {}
    if img:
        media["image_model"] = img.get("model")
        media["images"] = db.execute("SELECT count(*) FROM items WHERE type = 'image' AND parent_id IS NULL "
                                     "AND status IN ('ok', 'metadata')").fetchone()[0]
        media["images_embedded"] = db.execute("SELECT count(*) FROM image_vectors WHERE done = 1").fetchone()[0]
    return {
        "home": str(data.home),
        "private": _privacy(data),
        "documents": sum(totals.values()),
        "by_status": totals,
        "by_type": dict(sorted(by_type.items())),
        "passages": passages,
        "pending_lexical": pending,
        "semantic": semantic,
        "media": media,
        "failures": failures,
        "failure_reasons": reasons,
        "sources": sources,
        "size_bytes": {**sizes, "total": sum(sizes.values())},
        "last_run": data.catalog.last_run(),
        "manifest": data.manifest,
    }


def _privacy(data: DataDir) -> dict[str, Any]:
    """Whether the data directory is the user's alone (0700, files 0600): it holds every indexed passage."""
    n, examples = wide_modes(data.home)
    out: dict[str, Any] = {"ok": n == 0, "wider": n}
    if n:
        out["examples"] = examples
        out["hint"] = (f"the data directory {data.home} is readable by other users ({n} folders or files wider than "
                       f"0700/0600): run `chmod -R go-rwx {data.home}` (any `spyglass index` also fixes it)")
    return out
