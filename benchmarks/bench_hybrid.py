"""Hybrid query latency at 100k passages (a measurement, not a test).

    .venv/bin/python benchmarks/bench_hybrid.py [--docs 100000]   # after bench_index.py synthetic --docs N

Uses the real keyword index of the 100k-document synthetic corpus (about 100k passages per 30k documents) and fills
the vector index with one random unit vector per passage (embedding 100k+ real passages takes hours on this CPU; the
search cost does not depend on the values). Queries go through `Spyglass.search` (real query embedding, keyword +
vector search, fusion, snippets), with and without the learned reranker and the MaxSim reranker of the top 20.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return round(xs[int(p * (len(xs) - 1))], 2)


def main() -> None:
    import numpy as np

    from spyglass.app.spyglass import Spyglass
    from spyglass.index import manifest
    from spyglass.index.embedding import open_vectors
    from spyglass.index.store import DataDir

    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=100_000, help="which synthetic corpus (bench_index.py --docs N)")
    docs = ap.parse_args().docs
    home = ROOT / "benchmarks" / "out" / f"home-synthetic-{docs}"
    if not home.exists():
        raise SystemExit(f"run benchmarks/bench_index.py synthetic --docs {docs} first")
    sg = Spyglass(home)
    sg.config.embedding.enabled = True  # the corpus was indexed keyword-only; vectors are filled below
    emb = sg.embedder()
    with DataDir(home, write=True) as data:
        vec = open_vectors(data, emb.model_id, emb.dim, sg.config.embedding.exact_max, write=True)
        n_vec = len(vec)
        n_chunks = data.catalog.db.execute("SELECT count(*) FROM chunks").fetchone()[0]
        if n_vec < n_chunks:  # none yet, or a partial real embedding pass: refill every passage
            rows = data.catalog.db.execute("SELECT item_id, ord FROM chunks").fetchall()
            data.catalog.begin()
            data.catalog.reset_vectors()
            if n_vec:
                import shutil

                shutil.rmtree(home / "vectors")
                vec = open_vectors(data, emb.model_id, emb.dim, sg.config.embedding.exact_max, write=True)
            keys = data.catalog.assign_vkeys([(r[0], r[1]) for r in rows])
            data.catalog.db.execute("UPDATE items SET emb_dirty = 0")
            data.catalog.commit()
            rng = np.random.default_rng(0)
            for i in range(0, len(keys), 20000):
                v = rng.normal(size=(len(keys[i:i + 20000]), emb.dim)).astype(np.float32)
                v /= np.linalg.norm(v, axis=1, keepdims=True)
                vec.add(keys[i:i + 20000], v)
            vec.save()
            n_vec = len(keys)
        exact = vec.is_exact
        if data.catalog.dirty_count():  # e.g. the keyword index format changed since bench_index.py built it
            from spyglass.index.pipeline import Indexer

            Indexer(data, sg.config).sync_lexical()
    rng = random.Random(1)
    words = "cell protein gene patients cancer risk study expression mice treatment blood brain".split()
    queries = [" ".join(rng.sample(words, rng.randint(2, 4))) for _ in range(120)]
    out = {"passages": n_vec, "index": "exact" if exact else "hnsw", "cpus": os.cpu_count()}
    for label, kw in (("keyword", {"mode": "keyword"}), ("hybrid", {"mode": "hybrid"}),
                      ("hybrid+ltr", {"mode": "hybrid", "rerank": "ltr"}),
                      ("hybrid+maxsim20", {"mode": "hybrid", "rerank": "maxsim"})):
        qs = queries if label != "hybrid+maxsim20" else queries[:30]
        for q in qs[:5]:
            sg.search(q, **kw)
        ts = []
        for q in qs:
            t0 = time.perf_counter()
            sg.search(q, limit=10, **kw)
            ts.append((time.perf_counter() - t0) * 1000)
        out[label] = {"p50_ms": round(statistics.median(ts), 2), "p95_ms": pct(ts, 0.95), "queries": len(qs)}
    print(json.dumps(out))
    del manifest


if __name__ == "__main__":
    main()
