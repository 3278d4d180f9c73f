"""Embedding throughput on CPU: the raw model vs the indexing pipeline (a measurement, not a test).

    .venv/bin/python benchmarks/bench_embed.py [--docs N]

Raw: the packaged MiniLM over SciFact abstracts (title + text, truncated at 256 tokens), batches of 32 sorted by
length — the rate REFERENCE_NUMBERS.md reports for the model itself (18.7 abstracts/s). Pipeline: `spyglass index`
of the same abstracts as files, embedding pass only (its own timer), so extraction and the keyword index are not
counted against it. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from spyglass.evaluation.registry import data_dir  # noqa: E402
SHARED = data_dir().parent  # $SPYGLASS_DATA/.. or ../shared


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=1000)
    a = ap.parse_args()
    from spyglass.app.spyglass import Spyglass
    from spyglass.index.store import DataDir
    from spyglass.models.embedder import OnnxEmbedder

    docs = []
    with open(SHARED / "data/beir/scifact/corpus.jsonl") as fh:
        for line in fh:
            d = json.loads(line)
            docs.append((d["_id"], d["title"], d["text"]))
            if len(docs) >= a.docs:
                break
    e = OnnxEmbedder()
    e.warm_up()
    e.embed(["warm up"] * 32)
    t0 = time.perf_counter()
    e.embed([f"{t}\n\n{x}" for _, t, x in docs])
    raw = len(docs) / (time.perf_counter() - t0)

    work = ROOT / "benchmarks" / "out" / f"embed-{a.docs}"
    if work.exists():
        shutil.rmtree(work)
    (work / "docs").mkdir(parents=True)
    for i, t, x in docs:
        (work / "docs" / f"{i}.md").write_text(f"# {t}\n\n{x}\n")
    sg = Spyglass(work / "home")
    sg.config.embedding.enabled = False
    sg.index([str(work / "docs")])
    sg.config.embedding.enabled = True
    with DataDir(work / "home", write=True) as data:
        stats = sg.sync_vectors(data)[0]
    print(json.dumps({
        "docs": len(docs), "raw_docs_per_s": round(raw, 1),
        "pipeline_docs_per_s": round(len(docs) / stats["seconds"], 1),
        "pipeline_passages_per_s": stats["passages_per_s"], "passages": stats["passages"],
        "pipeline_vs_raw": round(len(docs) / stats["seconds"] / raw, 3), "cpus": os.cpu_count(),
    }))


if __name__ == "__main__":
    main()
