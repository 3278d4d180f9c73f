"""What ``spyglass status`` reports: counts per type and status, failures with reasons, sizes, the last run."""

from __future__ import annotations

from typing import Any

from spyglass.index.connector_sync import connector_sources
from spyglass.index.store import DataDir


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
    connectors = {s.id: st for s, st in connector_sources(data)}
    for s in sources:  # connector sources: sync state (a server that is down reads "failing" with the reason)
        st = connectors.get(s["id"])
        if st is not None:
            s.update(state=st["state"], last_sync=st["last_sync"], last_error=st["last_error"],
                     interval_s=st["interval_s"])
    semantic = _semantic(data)
    sizes = data.size_bytes()
    ocr_missing = db.execute("SELECT count(*) FROM items WHERE status != 'deleted' "
                             "AND error_kind = 'ocr-missing'").fetchone()[0]
    captions_missing = db.execute("SELECT count(*) FROM items WHERE status != 'deleted' "
                                  "AND error_kind = 'caption-missing'").fetchone()[0]
    asr_missing = db.execute("SELECT count(*) FROM items WHERE status != 'deleted' "
                             "AND error_kind = 'asr-missing'").fetchone()[0]
    media = {"ocr_pending": ocr_missing, "captions_pending": captions_missing, "transcripts_pending": asr_missing}
    if captions_missing:
        media["caption_hint"] = f"{captions_missing} images have no caption yet (the caption endpoint failed): " \
                                "run `spyglass index --retry-failed` when it is up"
    if ocr_missing:
        from spyglass.extraction.ocr import INSTALL_HINT

        media["hint"] = f"{ocr_missing} images or scanned PDFs were indexed without OCR: {INSTALL_HINT}, then " \
                        "run `spyglass index --retry-failed`"
    if asr_missing:
        from spyglass.extraction.whisper import AUDIO_HINT

        media["asr_hint"] = f"{asr_missing} recordings were indexed without transcripts: {AUDIO_HINT}, then run " \
                            "`spyglass index --retry-failed`"
    img = data.manifest.get("image_vectors") or {}
    if img:
        media["image_model"] = img.get("model")
        media["images"] = db.execute("SELECT count(*) FROM items WHERE type = 'image' AND parent_id IS NULL "
                                     "AND status IN ('ok', 'metadata')").fetchone()[0]
        media["images_embedded"] = db.execute("SELECT count(*) FROM image_vectors WHERE done = 1").fetchone()[0]
    return {
        "home": str(data.home),
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


def _semantic(data: DataDir) -> dict[str, Any]:
    """Vector coverage: passages with a vector over those that get one (machine data beyond its first passages stays
    keyword-only), documents with at least one vector, and the background embedder's progress."""
    from spyglass.app.background import progress

    vec = data.manifest.get("vectors") or {}
    counts = data.catalog.vector_counts()
    docs, pending = data.catalog.emb_pending()
    done = counts["embedded_passages"]
    out: dict[str, Any] = {
        "model": vec.get("model"), **counts, "pending_documents": docs, "pending_passages": pending,
        "coverage": round(done / (done + pending), 4) if done + pending else (1.0 if vec else 0.0),
        "document_coverage": round(counts["documents_with_vectors"] / counts["documents_with_text"], 4)
        if counts["documents_with_text"] else 1.0,
    }
    bg = progress(data.home)
    if bg:
        out["background"] = {k: bg.get(k) for k in ("state", "running", "pid", "passages_per_s", "eta_s", "updated")}
        if pending and not bg.get("running"):
            out["hint"] = "semantic search is incomplete and nothing is embedding: run `spyglass index` to resume"
    return out


def collect_member_status(data: DataDir, principals: list[str]) -> dict[str, Any]:
    """What a member may know of the index: counts over the documents ``principals`` may read (checked in the
    query), the model, and when the index last finished a run. No global count, failure, path or source leaves."""
    if not principals:
        raise ValueError("principals must not be empty (fail closed)")
    from spyglass.index.catalog import acl_condition

    db = data.catalog.db
    acl, params = acl_condition(principals)
    by_type = {t: n for t, n in db.execute(
        f"SELECT type, count(*) FROM items i WHERE status IN ('ok', 'metadata') AND {acl} GROUP BY 1 ORDER BY 1",
        params)}
    passages = db.execute(f"SELECT coalesce(sum(n_chunks), 0) FROM items i WHERE status = 'ok' AND {acl}",
                          params).fetchone()[0]
    last = data.catalog.last_run()
    return {
        "documents": sum(by_type.values()),
        "by_type": by_type,
        "passages": passages,
        "semantic": {"model": (data.manifest.get("vectors") or {}).get("model")},
        "last_run": {"finished": last["finished"]} if last else None,
    }
