"""Training the ranker from a growing log (a measurement, not a test).

    .venv/bin/python benchmarks/bench_ltr_scale.py [--json]

On SciFact's cached hybrid index (`spyglass eval beir` builds it):

1. retrieval features: `Spyglass.candidate_features` for 200 train queries — rows/s (both retrievers, then
   ranking/features.py; what `spyglass train ranker` pays once per distinct query);
2. usage features (ranking/personal.py) over synthetic logs of 10k, 100k and 1M events (2,000 users, Zipf-popular
   documents): seconds to replay the log into its aggregates (once; later events are appended), then rows/s of
   `Usage.rows` for 100-candidate groups at "now" (what a search pays);
3. LambdaMART training time (LightGBM, 150 rounds, 2 threads) against the number of rows: the SciFact candidate
   groups repeated with random labels up to 1M rows.
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
SCIFACT = ROOT.parent / "shared" / "data" / "beir" / "scifact"


def main() -> None:
    import numpy as np

    from spyglass.app.spyglass import Spyglass
    from spyglass.core.config import Config
    from spyglass.evaluation.beir import default_cache, load_qrels, load_queries
    from spyglass.evaluation.runner import build_index
    from spyglass.ranking.features import FEATURES
    from spyglass.ranking.ltr import train
    from spyglass.ranking.personal import PERSONAL, Usage

    out: dict = {}
    cfg = Config()
    home, _, _ = build_index(SCIFACT, cfg, default_cache())
    queries = load_queries(SCIFACT)
    train_q = [q for q in load_qrels(SCIFACT, "train") if q in queries][:200]
    sg = Spyglass(home, config=cfg)
    sg.candidate_features(queries[train_q[0]])  # warm the models
    t0 = time.perf_counter()
    groups = []
    for q in train_q:
        ids, rows = sg.candidate_features(queries[q])
        groups.append((ids, rows))
    s = time.perf_counter() - t0
    n_rows = sum(len(r) for _, r in groups)
    out["retrieval_features"] = {"queries": len(groups), "rows": n_rows, "seconds": round(s, 2),
                                 "rows_per_s": round(n_rows / s), "ms_per_query": round(1000 * s / len(groups), 1)}
    docs = [r[0] for r in sg.reader().catalog.db.execute("SELECT id FROM items")]
    sg.close()

    rng = random.Random(1)
    weights = [1 / (k + 1) for k in range(len(docs))]  # Zipf popularity
    folders = {d: f"folder{k % 50}" for k, d in enumerate(docs)}
    modified = {d: 1.6e9 + k * 1000 for k, d in enumerate(docs)}
    out["usage_features"] = []
    for n_events in (10_000, 100_000, 1_000_000):
        picks = rng.choices(docs, weights=weights, k=n_events)
        events = [(f"u{rng.randrange(2000)}", 1.7e9 + i, d) for i, d in enumerate(picks)]
        t0 = time.perf_counter()
        u = Usage(events, folders, modified)
        u.rows("u0", docs[:1], 1.7e9 + n_events)  # replays the whole log once
        build = time.perf_counter() - t0
        t0 = time.perf_counter()
        n = 0
        for g in range(50):
            ids = rng.sample(docs, 100)
            n += len(u.rows(f"u{g}", ids, 1.7e9 + n_events))
        s = time.perf_counter() - t0
        out["usage_features"].append({"events": n_events, "build_s": round(build, 2), "rows": n,
                                      "rows_per_s": round(n / s), "ms_per_group": round(1000 * s / 50, 2)})

    out["training"] = []
    base = [(rows, [0] * len(rows)) for _, rows in groups]
    tmp = ROOT / "benchmarks" / "out"
    tmp.mkdir(parents=True, exist_ok=True)
    width = len(FEATURES + PERSONAL)
    for target in (10_000, 100_000, 1_000_000):
        gs, total = [], 0
        while total < target:
            rows, _ = base[len(gs) % len(base)]
            rows = [r + [0.0] * (width - len(r)) for r in rows]
            labels = list(np.random.default_rng(len(gs)).integers(0, 5, len(rows)))
            gs.append((rows, labels))
            total += len(rows)
        t0 = time.perf_counter()
        train(gs, tmp / "scale-model.txt", rounds=150, names=FEATURES + PERSONAL)
        s = time.perf_counter() - t0
        out["training"].append({"rows": total, "groups": len(gs), "seconds": round(s, 2),
                                "rows_per_s": round(total / s)})
    if "--json" in sys.argv:
        print(json.dumps(out, indent=1))
    else:
        for k, v in out.items():
            print(k, v)


if __name__ == "__main__":
    main()
