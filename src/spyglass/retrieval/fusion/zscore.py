"""Z-score combination: each run's scores standardised by their own mean and deviation, then a weighted sum.

.. math:: s(d) = \\sum_{r \\in R} w_r \\cdot z_r(d), \\qquad
          z_r(d) = \\frac{s_r(d) - \\mu_r}{\\sigma_r}\\ \\text{if } d \\in r, \\quad
          z_r(d) = \\min_{d' \\in r} z_r(d')\\ \\text{otherwise}

where :math:`\\mu_r, \\sigma_r` are the mean and (population) standard deviation of the scores run ``r`` returned; a
document a run did not return is scored as that run's lowest (it ranked below everything the run returned). A run
with fewer than two documents, or all scores equal, contributes 0 to every document. Unlike min-max, a run whose top
stands far above the rest (a sharp, confident ranking) contributes large values, and a flat run (no document stands
out: the retriever does not know) contributes little — the weight of each retriever adapts per query without labels.

Montague and Aslam, "Relevance Score Normalization for Metasearch", CIKM 2001 (https://doi.org/10.1145/502585.502657);
compared with min-max and rank fusion in Bruch, Gai and Ingber, ACM TOIS 2023 (https://doi.org/10.1145/3596512).
"""

from __future__ import annotations

import math


def zscores(run: dict[str, float]) -> dict[str, float]:
    if len(run) < 2:
        return {d: 0.0 for d in run}
    n = len(run)
    mu = sum(run.values()) / n
    sd = math.sqrt(sum((s - mu) ** 2 for s in run.values()) / n)
    if sd == 0:
        return {d: 0.0 for d in run}
    return {d: (s - mu) / sd for d, s in run.items()}


def zscore_sum(runs: list[dict[str, float]], weights: list[float] | None = None) -> dict[str, float]:
    """Fuse runs by the weighted sum of their z-scores (absent: the run's lowest). Returns a run sorted best first."""
    weights = weights or [1.0] * len(runs)
    normed = [zscores(r) for r in runs]
    docs = {d for r in runs for d in r}
    fused = {d: 0.0 for d in docs}
    for z, w in zip(normed, weights):
        floor = min(z.values(), default=0.0)
        for d in docs:
            fused[d] += w * z.get(d, floor)
    return dict(sorted(fused.items(), key=lambda kv: (-kv[1], kv[0])))
