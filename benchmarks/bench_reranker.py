"""The trained reranker as the second stage of hybrid search, over the retrieval suite (a measurement, not a test).

    flock /work/bench.lock .venv/bin/python benchmarks/bench_reranker.py [--model spyglass-reranker-minilm]
        [--max-queries 200] [--collections scifact,squad-test,cranfield,cisi,xquad-en,xquad-de,xquad-zh]

For each collection: `eval_beir` in hybrid mode without and with ``--rerank cross-encoder`` (``[rerank]
cross_encoder`` = the model, top ``k`` = 20), nDCG@10 of both, and the query latency p50 of both (their difference is
the cost of scoring the top 20). SQuAD is measured on its *test* half only (questions of the tune half trained the
reranker); SciFact on its test qrels (the reranker saw the train qrels); XQuAD paragraphs were left out of training.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
SHARED = Path(os.environ.get("SPYGLASS_SHARED", ROOT.parent / "shared"))
SUITE = ("scifact", "squad-test", "cranfield", "cisi", "xquad-en", "xquad-de", "xquad-zh")


def squad_test_half(cache: Path) -> Path:
    """SQuAD 2.0 dev as a BEIR folder whose queries are the test half's answerable questions only."""
    from spyglass.evaluation.beir import squad_to_beir
    from spyglass.evaluation.qa import split_of

    full = squad_to_beir(SHARED / "data/qa/squad2-dev/dev-v2.0.json", cache / "squad2-dev-beir")
    out = cache / "squad2-dev-test-beir"
    if not (out / ".complete").exists():
        (out / "qrels").mkdir(parents=True, exist_ok=True)
        (out / "corpus.jsonl").write_bytes((full / "corpus.jsonl").read_bytes())
        keep = set()
        with open(full / "queries.jsonl") as src, open(out / "queries.jsonl", "w") as dst:
            for line in src:
                if split_of(json.loads(line)["_id"]) == "test":
                    keep.add(json.loads(line)["_id"])
                    dst.write(line)
        with open(full / "qrels" / "test.tsv") as src, open(out / "qrels" / "test.tsv", "w") as dst:
            for i, line in enumerate(src):
                if i == 0 or line.split("\t", 1)[0] in keep:
                    dst.write(line)
        (out / ".complete").write_text("ok")
    return out


def dataset(name: str, cache: Path) -> Path:
    if name == "scifact":
        return SHARED / "data/beir/scifact"
    if name == "squad-test":
        return squad_test_half(cache)
    return SHARED / "data/retrieval-dev" / name


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="spyglass-reranker-minilm", help="[rerank] cross_encoder value")
    ap.add_argument("--max-queries", type=int, default=200)
    ap.add_argument("--collections", default=",".join(SUITE))
    a = ap.parse_args()
    from spyglass.core.config import Config
    from spyglass.evaluation.beir import default_cache
    from spyglass.evaluation.runner import eval_beir

    cache = default_cache()
    rows = []
    for name in a.collections.split(","):
        ds = dataset(name, cache)
        base = eval_beir(ds, mode="hybrid", config=Config(), cache=cache, max_queries=a.max_queries)
        cfg = Config()
        cfg.rerank.cross_encoder = a.model
        rr = eval_beir(ds, mode="hybrid", rerank="cross-encoder", config=cfg, cache=cache, max_queries=a.max_queries)
        rows.append({"collection": name, "queries": min(a.max_queries, _count(ds)),
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


def _count(ds: Path) -> int:
    from spyglass.evaluation.beir import load_qrels, load_queries

    q = load_queries(ds)
    return sum(1 for k in load_qrels(ds, "test") if k in q)


if __name__ == "__main__":
    main()
