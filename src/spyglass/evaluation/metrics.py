"""Ranking metrics from trec_eval (pytrec_eval), the reference implementation used by TREC, BEIR and Pyserini.

- ``ndcg@10``: trec_eval ``ndcg_cut_10`` (graded gains, log2 discount, ideal from the qrels).
- ``recall@100``: ``recall_100``.
- ``mrr@10``: ``recip_rank`` over the run cut to its top 10 (trec_eval's ``recip_rank`` has no cut-off).

Queries without a relevant document in the qrels are not scored (as in BEIR); a query with no results scores 0.
"""

from __future__ import annotations

Run = dict[str, dict[str, float]]
Qrels = dict[str, dict[str, int]]


def _top(run: Run, k: int) -> Run:
    return {q: dict(sorted(d.items(), key=lambda kv: -kv[1])[:k]) for q, d in run.items()}


def evaluate(qrels: Qrels, run: Run) -> dict[str, float]:
    import pytrec_eval

    qrels = {q: d for q, d in qrels.items() if any(v > 0 for v in d.values())}
    run = {q: run.get(q, {}) or {"__none__": 0.0} for q in qrels}
    full = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "recall.100"}).evaluate(run)
    cut = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(_top(run, 10))
    n = len(qrels)
    return {
        "ndcg@10": round(sum(v["ndcg_cut_10"] for v in full.values()) / n, 4),
        "recall@100": round(sum(v["recall_100"] for v in full.values()) / n, 4),
        "mrr@10": round(sum(v["recip_rank"] for v in cut.values()) / n, 4),
        "queries": n,
    }
