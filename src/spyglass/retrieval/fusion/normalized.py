"""Normalized score combination (convex combination of min-max normalized scores, "CombSUM" with weights).

.. math:: s(d) = \\sum_{r \\in R} w_r \\cdot \\frac{s_r(d) - \\min_r}{\\max_r - \\min_r}

over the documents each run returned (a document absent from a run gets 0 from it; a run whose scores are all equal
normalizes to 1). With two runs and weights :math:`(1-\\alpha, \\alpha)` this is the convex combination studied by
Bruch, Gai and Ingber, "An Analysis of Fusion Functions for Hybrid Retrieval", ACM TOIS 2023
(https://doi.org/10.1145/3596512), who find it more robust than RRF when it is tuned; min-max and CombSUM: Fox and
Shaw, "Combination of Multiple Searches", TREC-2, 1994.
"""

from __future__ import annotations


def minmax(run: dict[str, float]) -> dict[str, float]:
    if not run:
        return {}
    lo, hi = min(run.values()), max(run.values())
    if hi == lo:
        return {d: 1.0 for d in run}
    return {d: (s - lo) / (hi - lo) for d, s in run.items()}


def normalized_sum(runs: list[dict[str, float]], weights: list[float] | None = None) -> dict[str, float]:
    """Fuse runs by the weighted sum of their min-max normalized scores. Returns a run sorted best first."""
    weights = weights or [1.0] * len(runs)
    fused: dict[str, float] = {}
    for run, w in zip(runs, weights):
        for doc, s in minmax(run).items():
            fused[doc] = fused.get(doc, 0.0) + w * s
    return dict(sorted(fused.items(), key=lambda kv: (-kv[1], kv[0])))
