"""Measures of a trained model on held-out pairs, per question (the answer model) or per query (the reranker).

Answer model, for the candidate sentences of each question (its paragraph's and a few others'):

- ``p(q) = max_s p(s)``: the answerability score; the best sentence is the argmax;
- ``found``: answerable questions whose best sentence holds a gold answer and ``p(q) ≥ τ``;
- ``refused``: unanswerable questions with ``p(q) < τ``;
- ``span_f1``: SQuAD F1 of the best sentence's span against the gold answers (answerable questions, 0 when refused);
- ``auc``: the probability that an answerable question scores above an unanswerable one (Mann–Whitney U / n₁n₂).

Reranker: MRR@10 and nDCG@10 of the pairs' scores per query (binary labels).
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from spyglass.evaluation.qa import f1_score

THRESHOLDS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
REFUSAL_TARGET = 0.6  # issue 18: refuse at least this share of unanswerable questions, then find as many answers as may be


def chosen_threshold(measured: list[dict[str, Any]]) -> float:
    """The lowest threshold whose held-out refusal of unanswerable questions reaches :data:`REFUSAL_TARGET` (so the
    most answers are found at that refusal); when none does, the one with the largest refusal + found."""
    for m in sorted(measured, key=lambda m: m["threshold"]):
        if m["refusal_rate_unanswerable"] >= REFUSAL_TARGET:
            return m["threshold"]
    return max(measured, key=lambda m: m["refusal_rate_unanswerable"] + m["answer_found_rate"])["threshold"]


def auc(pos: list[float], neg: list[float]) -> float:
    if not pos or not neg:
        return 0.0
    ranked = sorted([(x, 1) for x in pos] + [(x, 0) for x in neg])
    rank_sum = 0.0
    i = 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        avg = (i + j + 1) / 2  # 1-based average rank of the ties
        rank_sum += avg * sum(1 for k in range(i, j) if ranked[k][1] == 1)
        i = j
    return (rank_sum - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def by_question(rows: list[Any]) -> dict[str, list[int]]:
    """The positions of each question's (or query's) rows, in order of first appearance."""
    by_q: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by_q.setdefault(r.qid, []).append(i)
    return by_q


def answer_metrics(pairs: list[Any], probs: list[float], spans: list[str], threshold: float = 0.5
                   ) -> dict[str, Any]:
    """``pairs``: :class:`~spyglass.training.answer_data.Pair`; ``probs`` and ``spans`` (the span's text) per pair."""
    rows = []
    for idx in by_question(pairs).values():
        best = max(idx, key=lambda i: probs[i])
        ans = pairs[best].answers
        f1 = max((f1_score(spans[best], g) for g in ans), default=0.0)
        rows.append({"answerable": bool(ans), "p": probs[best], "hit": bool(pairs[best].label), "f1": f1})
    pos = [r for r in rows if r["answerable"]]
    neg = [r for r in rows if not r["answerable"]]
    curve = []
    for t in THRESHOLDS:
        curve.append({"threshold": t,
                      "refusal_rate_unanswerable": _share(neg, lambda r: r["p"] < t),
                      "answer_found_rate": _share(pos, lambda r: r["p"] >= t and r["hit"])})
    return {
        "questions": len(rows), "answerable": len(pos), "unanswerable": len(neg),
        "best_sentence_holds_answer": _share(pos, lambda r: r["hit"]),
        "span_f1_when_hit": round(sum(r["f1"] for r in pos if r["hit"]) / max(1, sum(r["hit"] for r in pos)), 4),
        "auc_answerable": round(auc([r["p"] for r in pos], [r["p"] for r in neg]), 4),
        "threshold": threshold,
        "refusal_rate_unanswerable": _share(neg, lambda r: r["p"] < threshold),
        "answer_found_rate": _share(pos, lambda r: r["p"] >= threshold and r["hit"]),
        "span_f1": round(sum(r["f1"] for r in pos if r["p"] >= threshold) / max(1, len(pos)), 4),
        "curve": curve,
    }


def _share(rows: list[dict[str, Any]], cond: Any) -> float:
    return round(sum(1 for r in rows if cond(r)) / len(rows), 4) if rows else 0.0


def rank_metrics(qids: list[str], labels: list[int], scores: list[float], k: int = 10) -> dict[str, float]:
    by_q: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for q, y, s in zip(qids, labels, scores):
        by_q[q].append((s, y))
    mrr = ndcg = 0.0
    for rows in by_q.values():
        rows.sort(key=lambda x: -x[0])
        top = rows[:k]
        mrr += next((1.0 / (i + 1) for i, (_, y) in enumerate(top) if y), 0.0)
        dcg = sum(y / math.log2(i + 2) for i, (_, y) in enumerate(top))
        ideal = sum(1 / math.log2(i + 2) for i in range(min(k, sum(y for _, y in rows))))
        ndcg += dcg / ideal if ideal else 0.0
    n = max(1, len(by_q))
    return {"queries": len(by_q), f"mrr@{k}": round(mrr / n, 4), f"ndcg@{k}": round(ndcg / n, 4)}
