"""The trained reranker as the second stage of hybrid search, over the retrieval suite (a measurement, not a test).

    flock /work/bench.lock .venv/bin/python benchmarks/bench_reranker.py [--model spyglass-reranker-minilm]
        [--max-queries 200] [--collections scifact,squad-test,cranfield,cisi,xquad-en,xquad-de,xquad-zh] [--cache DIR]

For each collection: `eval_beir` in hybrid mode without and with ``--rerank cross-encoder`` (``[rerank]
cross_encoder`` = the model, top ``k`` = 20), nDCG@10 of both, and the query latency p50 of both (their difference is
the cost of scoring the top 20). SQuAD is measured on its *test* half's questions only, over the suite's SQuAD index (questions of the tune half
trained the reranker); SciFact on its test qrels (the reranker saw the train qrels); XQuAD paragraphs were left out of training.
The same first ``--max-queries`` queries are used for both runs. Prints one JSON object (and a Markdown table on
stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
SHARED = Path(os.environ.get("SPYGLASS_SHARED", ROOT.parent / "shared"))
SUITE = ("scifact", "squad-test", "cranfield", "cisi", "xquad-en", "xquad-de", "xquad-zh")  # sorted like the suite


def dataset(name: str, cache: Path) -> Path:
    if name == "scifact":
        return SHARED / "data/beir/scifact"
    if name == "squad-test":  # the suite's SQuAD index; only the test half's questions are asked (see ``only``)
        from spyglass.evaluation.beir import squad_to_beir

        return squad_to_beir(SHARED / "data/qa/squad2-dev/dev-v2.0.json", cache / "squad2-dev-beir")
    return SHARED / "data/retrieval-dev" / name


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="spyglass-reranker-minilm", help="[rerank] cross_encoder value")
    ap.add_argument("--max-queries", type=int, default=200)
    ap.add_argument("--collections", default=",".join(SUITE))
    ap.add_argument("--cache", type=Path, default=None, help="evaluation cache [default: the usual one]")
    a = ap.parse_args()
    from spyglass.core.config import Config
    from spyglass.evaluation.beir import default_cache
    from spyglass.evaluation.qa import split_of
    from spyglass.evaluation.runner import eval_beir

    cache = a.cache or default_cache()
    rows = []
    for name in a.collections.split(","):
        ds = dataset(name, cache)
        only = (lambda q: split_of(q) == "test") if name == "squad-test" else None
        base = eval_beir(ds, mode="hybrid", config=Config(), cache=cache, max_queries=a.max_queries, only=only)
        cfg = Config()
        cfg.rerank.cross_encoder = a.model
        rr = eval_beir(ds, mode="hybrid", rerank="cross-encoder", config=cfg, cache=cache, max_queries=a.max_queries,
                       only=only)
        rows.append({"collection": name, "queries": min(a.max_queries, _count(ds, only)),
                     "hybrid": base["ndcg@10"], "reranked": rr["ndcg@10"],
                     "delta": round(rr["ndcg@10"] - base["ndcg@10"], 4),
                     "ms_p50_hybrid": base["query_ms_p50"], "ms_p50_reranked": rr["query_ms_p50"]})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    res = {"model": a.model, "rows": rows,
           "mean_hybrid": round(statistics.mean(r["hybrid"] for r in rows), 4),
           "mean_reranked": round(statistics.mean(r["reranked"] for r in rows), 4),
           "worst_delta": min(r["delta"] for r in rows), "load_average": os.getloadavg()}
    print("| collection | queries | hybrid | + reranker | Δ | p50 ms hybrid | p50 ms + reranker |", file=sys.stderr)
    print("|---|---|---|---|---|---|---|", file=sys.stderr)
    for r in rows:
        print(f"| {r['collection']} | {r['queries']} | {r['hybrid']:.4f} | {r['reranked']:.4f} | {r['delta']:+.4f} | "
              f"{r['ms_p50_hybrid']:.0f} | {r['ms_p50_reranked']:.0f} |", file=sys.stderr)
    print(json.dumps(res))


def _count(ds: Path, only: Any = None) -> int:
    from spyglass.evaluation.beir import load_qrels, load_queries

    q = load_queries(ds)
    return sum(1 for k in load_qrels(ds, "test") if k in q and (only is None or only(k)))


if __name__ == "__main__":
    main()
