"""``spyglass eval images``: text→image retrieval on Flickr8k (Hodosh, Young and Hockenmaier, "Framing Image
Description as a Ranking Task", JAIR 2013).

The 1,000 test images are indexed through the same pipeline as a user's photos (the text–image slot of
``[media] clip_*``; the index is cached, and its image vectors are rebuilt when the model changes), then every caption of those images (5 per image) is a query whose one
relevant image is the one it describes — the standard protocol. Reported: Recall@1/5/10 (share of captions whose
image is in the top K), MRR@10, the image-embedding rate and the query latency.

Nothing here runs without a configured model: no CLIP-class weights ship in any package (MODELS.md). The embedded
default for photos (OCR text, EXIF, file and folder names) cannot rank Flickr8k's numbered, text-free photos at all:
chance level is Recall@K = K / 1000, reported as the baseline.
"""

from __future__ import annotations

import hashlib
import statistics
import time
from pathlib import Path
from typing import Any

from spyglass.core.acl import EVERYTHING
from spyglass.core.config import Config, MediaSettings
from spyglass.core.errors import SpyglassError


def load_captions(dataset: Path, images: set[str]) -> list[tuple[str, str]]:
    """``(image file, caption)`` for every caption of the given images (Flickr8k.token.txt: ``name.jpg#k<TAB>text``)."""
    out = []
    with open(dataset / "text" / "Flickr8k.token.txt", encoding="utf-8") as fh:
        for line in fh:
            key, _, text = line.rstrip("\n").partition("\t")
            name = key.split("#", 1)[0]
            if name in images and text.strip():
                out.append((name, text.strip()))
    return out


def eval_images(dataset: Path, media: MediaSettings, cache: Path, max_queries: int = 0,
                progress: Any = None) -> dict[str, Any]:
    from spyglass.app.spyglass import Spyglass

    if not media.clip_image_model:
        raise SpyglassError("eval images needs a text-image model: set [media] clip_image_model, clip_text_model "
                            "and clip_tokenizer (no CLIP-class weights ship in a package; docs/media.md)")
    folder = dataset / "images_224"
    if not folder.is_dir():
        raise SpyglassError(f"{dataset} has no images_224/ folder (expected ../shared/data/images/flickr8k-test1000)")
    cfg = Config()
    cfg.embedding.enabled = False
    cfg.media = MediaSettings(**{**media.__dict__, "ocr": False, "caption_endpoint": ""})
    # one index of the folder; its image vectors follow the configured model (a model change re-embeds them)
    key = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]
    sg = Spyglass(cache / f"flickr8k-{key}", config=cfg)
    clip = sg.clip()
    t0 = time.perf_counter()
    stats = sg.index([str(folder)], progress=progress)
    index_s = time.perf_counter() - t0
    if stats.images.get("unavailable"):
        raise SpyglassError(stats.images["unavailable"])
    retriever = sg.parts.images()
    if retriever is None:
        raise SpyglassError("no image vectors were built")
    names = {p.name for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")}
    caps = load_captions(dataset, names)
    if max_queries:
        caps = caps[:: max(1, len(caps) // max_queries)][:max_queries]
    by_id = {r[0]: r[1] for r in sg.reader().catalog.db.execute("SELECT id, name FROM items WHERE type = 'image'")}
    ranks: list[int | None] = []
    lat: list[float] = []
    for gold, text in caps:
        ranking = retriever.search(text, k=10, principals=EVERYTHING)
        lat.append(ranking.timings["image"])
        top = [by_id.get(h.id) for h in ranking.hits]
        ranks.append(top.index(gold) + 1 if gold in top else None)
    sg.close()
    n = len(ranks)

    def recall(k: int) -> float:
        return round(sum(1 for r in ranks if r is not None and r <= k) / n, 4) if n else 0.0

    return {
        "dataset": "flickr8k-test1000",
        "model": clip.model_id,
        "images": len(names),
        "queries": n,
        "recall@1": recall(1),
        "recall@5": recall(5),
        "recall@10": recall(10),
        "mrr@10": round(sum(1 / r for r in ranks if r is not None) / n, 4) if n else 0.0,
        "chance_recall@10": round(min(1.0, 10 / max(1, len(names))), 4),
        "index_seconds": round(index_s, 2),
        "images_per_s": stats.images.get("images_per_s", 0.0),
        "query_ms_p50": round(statistics.median(lat), 2) if lat else 0.0,
    }
