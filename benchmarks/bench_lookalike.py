"""Where to cut look-alike photos: dHash distances of true look-alikes against unrelated photos.

On the 1,000 Flickr8k test photos (../shared/data/images/flickr8k-test1000/images_224), each photo is made into
look-alikes the way copies arise — resized to half, recompressed as JPEG at quality 30, cropped by 5 % and 10 % on
every side, brightened by 20 %, and with a small caption band drawn over it — and the Hamming distance of their
64-bit dHashes to the original's is measured; against that, the distance of every pair of two different photos.
For each candidate cut-off ``c`` it prints recall (share of look-alikes with ``d ≤ c``) and the false matches
(unrelated pairs with ``d ≤ c``, per million pairs and per photo at 10 results). docs/organize.md quotes the run.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_lookalike.py [--limit N] [--json]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SPYGLASS_SHARED", ROOT.parent / "shared")) / "data" / "images" / "flickr8k-test1000"


def _variants(img):
    from PIL import Image, ImageDraw, ImageEnhance

    w, h = img.size
    out = {"half": img.resize((w // 2, h // 2), Image.Resampling.BILINEAR)}
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=30)
    out["jpeg30"] = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    for pct in (5, 10):
        dx, dy = w * pct // 100, h * pct // 100
        out[f"crop{pct}"] = img.crop((dx, dy, w - dx, h - dy))
    out["bright20"] = ImageEnhance.Brightness(img).enhance(1.2)
    band = img.copy()
    ImageDraw.Draw(band).rectangle([0, h - h // 8, w, h], fill="white")
    out["caption"] = band
    return out


def measure(limit: int | None = None) -> dict:
    import numpy as np
    from PIL import Image

    from spyglass.extraction.image import dhash_of
    from spyglass.organize.imagehash import distances

    files = sorted((DATA / "images_224").glob("*.jpg"))[:limit]
    if not files:
        sys.exit(f"no photos in {DATA}/images_224 (set SPYGLASS_SHARED)")
    originals, same = [], {}
    for f in files:
        with Image.open(f) as im:
            img = im.convert("RGB")
        h = dhash_of(img)
        originals.append(h)
        for name, v in _variants(img).items():
            same.setdefault(name, []).append(distances(h, [dhash_of(v)])[0])
    unrelated = np.concatenate([np.array(distances(h, originals[n + 1:]), dtype=np.int64)
                                for n, h in enumerate(originals[:-1])])
    pairs = len(unrelated)
    rows = []
    for cut in range(0, 25):
        allsame = [d for ds in same.values() for d in ds]
        fp = int((unrelated <= cut).sum())
        rows.append({"cut": cut, "recall": round(sum(d <= cut for d in allsame) / len(allsame), 4),
                     **{f"recall_{k}": round(sum(d <= cut for d in v) / len(v), 4) for k, v in same.items()},
                     "false_pairs": fp, "false_per_million": round(fp / pairs * 1e6, 1),
                     "false_per_photo": round(2 * fp / len(originals), 4)})
    return {"photos": len(files), "unrelated_pairs": pairs,
            "unrelated_min": int(unrelated.min()), "unrelated_p001": float(np.percentile(unrelated, 0.1)),
            "unrelated_p1": float(np.percentile(unrelated, 1)), "unrelated_median": float(np.median(unrelated)),
            "lookalike_max": {k: int(max(v)) for k, v in same.items()},
            "lookalike_p95": {k: float(np.percentile(v, 95)) for k, v in same.items()}, "cuts": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit", type=int, default=None, help="use only the first N photos")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    res = measure(args.limit)
    if args.json:
        print(json.dumps(res))
        return
    print(f"{res['photos']} photos, {res['unrelated_pairs']} unrelated pairs: min distance {res['unrelated_min']}, "
          f"0.1st percentile {res['unrelated_p001']}, 1st {res['unrelated_p1']}, median {res['unrelated_median']}")
    print("look-alikes, largest distance:", res["lookalike_max"])
    print("look-alikes, 95th percentile:", res["lookalike_p95"])
    keys = [k for k in res["cuts"][0] if k.startswith("recall_")]
    print("cut  recall  " + "  ".join(k[7:] for k in keys) + "  false pairs  per million  per photo")
    for r in res["cuts"]:
        print(f"{r['cut']:>3}  {r['recall']:.3f}  " + "  ".join(f"{r[k]:.3f}".rjust(len(k) - 7) for k in keys)
              + f"  {r['false_pairs']:>11}  {r['false_per_million']:>11}  {r['false_per_photo']:>9}")


if __name__ == "__main__":
    main()
