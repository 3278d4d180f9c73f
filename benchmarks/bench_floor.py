"""A floor for meaning (issue 16.4): queries whose words occur nowhere should find nothing, not the least unrelated
file. Measured on the real-documents folder with 100 made-up words (fixed seed; each checked to occur in no document,
typo tolerance included), against the closest passage's cosine — and, on the retrieval suite's dumped runs
(benchmarks/bench_fusion.py), how many real queries a floor would empty.

    .venv/bin/python benchmarks/bench_floor.py
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
FLOORS = (0.15, 0.2, 0.25, 0.3, 0.35, 0.4)


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
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_time_to_value import SHARED

    from spyglass.app.spyglass import Spyglass
    from spyglass.core.config import Config

    home = OUT / "floor-realdocs"
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
    suite = suite_effect()
    print(json.dumps({"absent_queries": len(best), "best_cosine_max": round(max(best), 3),
                      "share_with_no_results_at_floor": absent, "suite_queries_emptied_at_floor": suite}))


def suite_effect() -> dict[str, dict[str, int]]:
    """Per collection: judged queries with no keyword match whose closest passage is below each floor."""
    out: dict[str, dict[str, int]] = {}
    for f in sorted((OUT / "fusion").glob("*.json")):
        d = json.loads(f.read_text())
        counts = {}
        for floor in FLOORS:
            counts[str(floor)] = sum(1 for r in d["runs"].values()
                                     if not r["keyword"] and max((s for _, s in r["semantic"]), default=0) < floor)
        out[d["name"]] = {"queries": len(d["runs"]), **counts}
    return out


if __name__ == "__main__":
    main()
