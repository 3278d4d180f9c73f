"""``spyglass eval recs``: next-item recommendation, leave-last-out, on public implicit-feedback data.

Protocol (SASRec's, Kang & McAuley, ICDM 2018, so the published numbers in ../shared/data/RECSYS_REFERENCE.md compare):
each user's interactions in time order; the last one is the test item, everything before it is training (the
second-to-last is SASRec's validation item, also seen when testing). The test item is ranked against 100 items the
user never interacted with, sampled uniformly; HR@10 = share of users whose test item is in the top 10, NDCG@10 =
mean ``1 / log2(rank + 2)`` when it is. Users with fewer than 3 interactions are left out.

Datasets: ``movielens`` (ml-latest-small ratings.csv: every rating is an interaction, ordered by timestamp) and
``amazon-video`` (SASRec's Video.txt: one "user item" per line, already in time order).
"""

from __future__ import annotations

import csv
import math
import random
import time
from pathlib import Path
from typing import Any

from spyglass.core.progress import NullProgress, Progress


def load(path: Path) -> tuple[list[list[int]], int]:
    """Per-user item sequences in time order, and the number of items."""
    users: dict[str, list[tuple[float, int, str]]] = {}
    items: dict[str, int] = {}
    if path.is_dir() and (path / "ratings.csv").exists():
        with open(path / "ratings.csv", newline="") as f:
            for n, row in enumerate(csv.DictReader(f)):
                users.setdefault(row["userId"], []).append((float(row["timestamp"]), n, row["movieId"]))
    else:
        file = path / "Video.txt" if path.is_dir() else path
        with open(file) as f:
            for n, line in enumerate(f):
                u, i = line.split()
                users.setdefault(u, []).append((float(n), n, i))
    seqs = []
    for evs in users.values():
        evs.sort()
        seqs.append([items.setdefault(i, len(items)) for _, _, i in evs])
    return seqs, len(items)


def eval_recs(path: Path, negatives: int = 100, seed: int = 1, models: list[str] | None = None,
              progress: Progress | None = None) -> dict[str, Any]:
    import numpy as np

    from spyglass.recommend.als import ImplicitALS
    from spyglass.recommend.data import Interactions
    from spyglass.recommend.itemknn import ItemKNN
    from spyglass.recommend.markov import MarkovChain
    from spyglass.recommend.popularity import Popularity

    progress = progress or NullProgress()
    seqs, n_items = load(path)
    seqs = [s for s in seqs if len(s) >= 3]
    train = Interactions(len(seqs), n_items, [s[:-1] for s in seqs])
    rng = random.Random(seed)
    cands = []
    for s in seqs:
        seen = set(s)
        neg: set[int] = set()
        while len(neg) < negatives:
            j = rng.randrange(n_items)
            if j not in seen:
                neg.add(j)
        cands.append(np.array([s[-1]] + sorted(neg)))
    factories = {"popularity": Popularity, "itemknn": ItemKNN, "als": ImplicitALS, "markov": MarkovChain}
    out: dict[str, Any] = {"dataset": path.name, "users": len(seqs), "items": n_items,
                           "interactions": sum(len(s) for s in seqs), "negatives": negatives}
    for name in models or list(factories):
        t0 = time.perf_counter()
        model = factories[name]().fit(train)
        fit_s = time.perf_counter() - t0
        hr = ndcg = 0.0
        progress.start(f"Scoring ({name})", len(seqs))
        for u, c in enumerate(cands):
            s = np.asarray(model.score(u, c), dtype=np.float64)
            # rank of the test item (index 0): items scoring higher, ties counted against it (pessimistic)
            rank = int((s[1:] >= s[0]).sum())
            if rank < 10:
                hr += 1
                ndcg += 1 / math.log2(rank + 2)
            progress.advance()
        progress.stop()
        out[name] = {"hr@10": round(hr / len(seqs), 4), "ndcg@10": round(ndcg / len(seqs), 4),
                     "fit_seconds": round(fit_s, 1), "score_seconds": round(time.perf_counter() - t0 - fit_s, 1)}
        out[f"{name}_hr@10"] = out[name]["hr@10"]
        out[f"{name}_ndcg@10"] = out[name]["ndcg@10"]
    return out
