"""Exact vs HNSW vector search on this machine (a measurement, not a test): where the switch belongs.

    .venv/bin/python benchmarks/bench_vectors.py

Random unit vectors (384-d, the MiniLM dimension) through `spyglass.index.vectors.VectorIndex`, 200 queries each,
unfiltered and with an ID selector admitting half the passages. Recall@10 of HNSW is against the exact result.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def main() -> None:
    import numpy as np

    from spyglass.index.vectors import VectorIndex

    rng = np.random.default_rng(0)
    out = []
    for n in (5_000, 10_000, 25_000, 50_000, 100_000):
        v = rng.normal(size=(n, 384)).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        q = rng.normal(size=(200, 384)).astype(np.float32)
        q /= np.linalg.norm(q, axis=1, keepdims=True)
        allowed = np.arange(0, n, 2, dtype=np.int64)
        row = {"vectors": n}
        exact_res = []
        for kind in ("exact", "hnsw"):
            idx = VectorIndex(Path(tempfile.mkdtemp()), 384, exact_max=(10**9 if kind == "exact" else 0))
            t0 = time.perf_counter()
            idx.add(np.arange(n), v)
            build = time.perf_counter() - t0
            ts, tf, res = [], [], []
            for x in q:
                t0 = time.perf_counter()
                keys, _ = idx.search(x, 10)
                ts.append((time.perf_counter() - t0) * 1000)
                res.append(keys)
                t0 = time.perf_counter()
                idx.search(x, 10, allowed)
                tf.append((time.perf_counter() - t0) * 1000)
            if kind == "exact":
                exact_res = res
                recall = 1.0
            else:
                recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(res, exact_res)]))
            row[kind] = {"build_s": round(build, 1), "p50_ms": round(statistics.median(ts), 2),
                         "filtered_p50_ms": round(statistics.median(tf), 2), "recall@10": round(recall, 3)}
        out.append(row)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
