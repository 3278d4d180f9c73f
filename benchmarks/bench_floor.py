"""A floor for meaning (issue 16.4): queries whose words occur nowhere should find nothing, not the least unrelated
file. Measured on the real-documents folder with 100 made-up words (fixed seed; each checked to occur in no document,
typo tolerance included), against the closest passage's cosine — and, on the retrieval suite's dumped runs
(benchmarks/bench_fusion.py), how many real queries a floor would empty and the nDCG@10 they carried.

    .venv/bin/python benchmarks/bench_floor.py
    .venv/bin/python benchmarks/bench_floor.py --home DIR --runs ../wt-merge/benchmarks/out/fusion

``--home`` reuses a data directory of the real-documents folder (``bench_time_to_value.py real --home DIR`` leaves
one), so the folder is not embedded twice. A query is emptied when its keyword run is empty and its closest passage
is below the floor; it then scores 0, and with no keyword hits the fused ranking is the semantic one, so the nDCG@10
lost is the semantic run's nDCG@10 on the emptied queries (averaged over all judged queries of the collection).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
FLOORS = (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6)


def made_up_words(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    cons, vows = "bdfgklmnprstvz", "aeiou"
    out = []
    while len(out) < n:
        words = ["".join(rng.choice(cons) + rng.choice(vows) for _ in range(rng.randint(3, 5)))
                 for _ in range(rng.randint(1, 2))]
        out.append(" ".join(words))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path, default=OUT / "floor-realdocs", help="data directory of the real documents")
    ap.add_argument("--runs", type=Path, default=OUT / "fusion", help="bench_fusion.py's dumped runs")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_time_to_value import SHARED

    from spyglass.app.spyglass import Spyglass
    from spyglass.core.config import Config

    home = args.home
    sg = Spyglass(home, config=Config())
    if not (home / "catalog.sqlite3").exists():
        sg.index([str(SHARED / "data" / "formats" / "unstructured-example-docs")], wait=True)
    best = []
    for q in made_up_words(100):
        if sg.search(q, mode="keyword", limit=1).total:
            continue  # a made-up word that happens to match (typo tolerance): not an absent-word query
        hits = sg.search(q, mode="semantic", limit=1, snippets=False).hits
        best.append(max((h.signals.get("semantic", 0.0) for h in hits), default=0.0))
    absent = {f: round(sum(b < f for b in best) / len(best), 3) for f in FLOORS}
    suite = suite_effect(args.runs)
    q = sorted(best)
    print(json.dumps({"absent_queries": len(best), "best_cosine_max": round(max(best), 3),
                      "best_cosine_p50_p90_p95": [round(q[int(f * (len(q) - 1))], 3) for f in (0.5, 0.9, 0.95)],
                      "share_with_no_results_at_floor": absent, "suite_queries_emptied_at_floor": suite}))


def suite_effect(runs_dir: Path) -> dict[str, dict]:
    """Per collection: judged queries with no keyword match whose closest passage is below each floor, and the mean
    nDCG@10 (over all judged queries) those queries carried, lost when the floor empties them."""
    from spyglass.evaluation.metrics import evaluate

    newest: dict[str, Path] = {}
    for f in sorted(runs_dir.glob("*.json"), key=lambda p: p.stat().st_mtime):
        newest[f.name.rsplit("-", 1)[0]] = f  # <name>-<settings key>.json: the newest dump of each collection
    out: dict[str, dict] = {}
    for f in newest.values():
        d = json.loads(f.read_text())
        runs = d["runs"]
        qrels = {q: r for q, r in d["qrels"].items() if q in runs}
        judged = len([q for q, r in qrels.items() if any(v > 0 for v in r.values())])
        sem = {q: dict(map(tuple, r["semantic"])) for q, r in runs.items()}
        row: dict = {"queries": len(runs), "no_keyword_hit": sum(1 for r in runs.values() if not r["keyword"]),
                     "emptied": {}, "ndcg10_lost": {}}
        for floor in FLOORS:
            gone = [q for q, r in runs.items()
                    if not r["keyword"] and max((s for _, s in r["semantic"]), default=0) < floor]
            row["emptied"][str(floor)] = len(gone)
            lost = evaluate({q: qrels[q] for q in gone if q in qrels}, {q: sem[q] for q in gone}) if gone else None
            # evaluate() averages over the emptied queries it keeps (with a relevant document); rescale to all
            row["ndcg10_lost"][str(floor)] = round(lost["ndcg@10"] * lost["queries"] / judged, 4) if lost else 0.0
        out[d["name"]] = row
    return out

if __name__ == "__main__":
    main()
