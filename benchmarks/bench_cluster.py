"""Indexing throughput on a Ray cluster with 1 and 2 workers, against local indexing (a measurement, not a test).

    flock /work/bench.lock nice -n 5 .venv/bin/python benchmarks/bench_cluster.py [--files 2000] [--embed 300] [--ocr 8]

Three set-ups index the same folders through `Spyglass.index` into fresh data directories: local (2 extraction
processes, onnxruntime with 2 threads), and `[cluster] address` pointing at a local Ray started here with 1 CPU and
then 2 CPUs (one Ray worker per CPU; extraction and embedding tasks ask for one CPU each). The writer (this process:
walk, catalog, tantivy, faiss) runs on the same machine as the workers — on a real cluster it would not compete with
them. Rows:

1. text: ``--files`` SciFact abstracts as .txt, embeddings off — files/s and passages/s of the whole keyword run;
2. OCR: ``--ocr`` A4 text pages as PNG (bench_media.py's pages), Tesseract on the workers — images/s;
3. embedding: ``--embed`` abstracts with embeddings on — passages/s of the embedding pass (vectors back to the writer).

Ray's start-up (10–30 s here) is not counted; each Ray set-up's first task pays its workers' start (Python, Spyglass,
the extraction process, the model), as a real run does. Prints one JSON line per row.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))
SCIFACT = ROOT.parent / "shared" / "data" / "beir" / "scifact" / "corpus.jsonl"


def write_abstracts(folder: Path, n: int, skip: int = 0) -> None:
    folder.mkdir(parents=True)
    with SCIFACT.open() as fh:
        for i, line in enumerate(fh):
            if i < skip:
                continue
            if i >= skip + n:
                break
            d = json.loads(line)
            (folder / f"{d['_id']}.txt").write_text(f"{d.get('title', '')}\n\n{d['text']}")


def config(address: str, embedding: bool):
    from spyglass.core.config import Config

    cfg = Config()
    cfg.embedding.enabled = embedding
    cfg.index.workers = 2
    cfg.embedding.threads = 2
    cfg.cluster.address = address
    return cfg


def run(setup: str, row: str, folder: Path, cfg, tmp: Path, unit: str) -> dict:
    from spyglass.app.spyglass import Spyglass

    sg = Spyglass(tmp / f"home-{setup}-{row}", config=cfg)
    t0 = time.perf_counter()
    stats = sg.index([str(folder)], wait=True)
    wall = time.perf_counter() - t0
    sg.close()
    out = {"setup": setup, "row": row, "files": stats.scanned, "failed": stats.failed, "wall_s": round(wall, 2)}
    if unit == "embedding":
        sem = stats.semantic
        out.update(passages=sem.get("passages"), seconds=sem.get("seconds"),
                   passages_per_s=round(sem["passages"] / sem["seconds"], 2) if sem.get("seconds") else None)
    else:
        out.update(passages=stats.passages, seconds=round(stats.seconds, 2),
                   files_per_s=round(stats.scanned / stats.seconds, 2),
                   passages_per_s=round(stats.passages / stats.seconds, 2))
    print(json.dumps(out), flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--embed", type=int, default=300)
    ap.add_argument("--ocr", type=int, default=8)
    ap.add_argument("--setups", nargs="*", default=["local", "ray-1", "ray-2"])
    args = ap.parse_args()
    import ray
    from bench_media import page

    tmp = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    try:
        text, emb, scans = tmp / "text", tmp / "embed", tmp / "scans"
        write_abstracts(text, args.files)
        write_abstracts(emb, args.embed, skip=args.files)
        scans.mkdir()
        for i in range(args.ocr):
            page(i).save(scans / f"page{i}.png")
        for setup in args.setups:
            address = ""
            if setup.startswith("ray-"):
                t0 = time.perf_counter()
                ctx = ray.init(num_cpus=int(setup.split("-")[1]), include_dashboard=False, log_to_driver=False,
                               logging_level="warning")
                address = ctx.address_info["address"]
                print(json.dumps({"setup": setup, "ray_start_s": round(time.perf_counter() - t0, 1)}), flush=True)
            try:
                run(setup, "text", text, config(address, False), tmp, "files")
                run(setup, "ocr", scans, config(address, False), tmp, "files")
                run(setup, "embedding", emb, config(address, True), tmp, "embedding")
            finally:
                if address:
                    ray.shutdown()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
