"""Media throughput per type through the real indexing pipeline (a measurement, not a test).

    .venv/bin/python benchmarks/bench_media.py [--json]

Each row indexes a fresh data directory with `Spyglass.index` (walk, extraction processes, catalog, tantivy;
passage embeddings off, so the row is the media work) and divides by the wall time of the run:

1. photos, metadata only: Flickr8k's 1,000 test images (EXIF, perceptual hash; OCR off) — images/s;
2. photos, text–image pass: the same images through the image-embedding pass with the tiny test towers
   (tests/fixtures.py), i.e. the pass's own cost (decode, resize, normalise, faiss) without a real model's compute;
3. OCR'd images: text pages rendered at A4 / 150 dpi as PNG — images/s;
4. scanned PDFs: the same pages as an image-only PDF — pages/s;
5. recordings: ../shared's LibriSpeech utterances and jfk.flac through Whisper base — audio seconds per second.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))
from spyglass.evaluation.registry import data_dir  # noqa: E402
SHARED = data_dir()  # $SPYGLASS_DATA or ../shared/data

LINES = ["Minutes of the harbour authority meeting held on the fourth of March.",
         "Present: the chair, the treasurer, two pilots and the lock keeper.",
         "The dredging contract was extended by eighteen months at the same rate.",
         "Ferry timetables change on the first of May; the night crossing is cut.",
         "Any other business: the lighthouse keeper asked for a new radio set."]


def page(i: int):
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (1240, 1754), "white")
    d = ImageDraw.Draw(img)
    try:
        font = ImageFont.truetype("DejaVuSans.ttf", 26)
    except OSError:
        font = ImageFont.load_default(size=26)
    y = 120
    for k in range(24):
        d.text((110, y), f"{k + 1}. {LINES[(i + k) % len(LINES)]}", fill="black", font=font)
        y += 60
    return img


def run(name: str, folder: Path, cfg, unit_count: float, unit: str, tmp: Path, key: str = "") -> dict:
    from spyglass.app.spyglass import Spyglass

    home = tmp / f"home-{name}"
    sg = Spyglass(home, config=cfg)
    t0 = time.perf_counter()
    stats = sg.index([str(folder)])
    s = time.perf_counter() - t0
    sg.close()
    if key:  # the rate of one pass of the run (the image-embedding pass)
        s = stats.images.get("seconds") or s
    return {"row": name, unit: unit_count, "seconds": round(s, 2), "per_s": round(unit_count / s, 2),
            "failed": stats.failed}


def main() -> None:
    import copy

    from conftest import keyword_config
    from fixtures import write_tiny_clip

    tmp = Path(tempfile.mkdtemp(prefix="bench-media-"))
    rows = []
    try:
        base = keyword_config()
        photos = SHARED / "images" / "flickr8k-test1000" / "images_224"
        n_photos = sum(1 for _ in photos.glob("*.jpg"))
        cfg = copy.deepcopy(base)
        cfg.media.ocr = False
        rows.append(run("photos, metadata + perceptual hash (Flickr8k 224 px JPEG)", photos, cfg, n_photos,
                        "images", tmp))
        cfg = copy.deepcopy(cfg)
        for k, v in write_tiny_clip(tmp / "clip").items():
            setattr(cfg.media, k, v)
        cfg.media.clip_image_size = 224
        rows.append(run("photos, image-embedding pass (tiny towers: pass overhead only)", photos, cfg, n_photos,
                        "images", tmp, key="images"))
        scans = tmp / "scans"
        scans.mkdir()
        pages = [page(i) for i in range(6)]
        for i, p in enumerate(pages):
            p.save(scans / f"page{i}.png")
        rows.append(run("OCR, A4 text pages as PNG (150 dpi)", scans, base, len(pages), "images", tmp))
        pdfs = tmp / "pdfs"
        pdfs.mkdir()
        pages[0].save(pdfs / "scan.pdf", "PDF", resolution=150, save_all=True, append_images=pages[1:])
        rows.append(run("OCR, scanned PDF (image-only pages, rendered at 200 dpi)", pdfs, base, len(pages),
                        "pages", tmp))
        speech = tmp / "speech"
        speech.mkdir()
        import av  # PyAV, faster-whisper's decoder: only to read the durations

        total = 0.0
        for f in list((SHARED / "speech").rglob("*.flac"))[:5]:
            shutil.copy(f, speech / f.name)
            with av.open(str(f)) as c:
                total += c.duration / 1e6
        rows.append(run("speech to text (Whisper base int8, LibriSpeech + jfk FLAC)", speech, base, round(total, 1),
                        "audio_seconds", tmp))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if "--json" in sys.argv:
        print(json.dumps(rows, indent=1))
    else:
        for r in rows:
            print(r)


if __name__ == "__main__":
    main()
