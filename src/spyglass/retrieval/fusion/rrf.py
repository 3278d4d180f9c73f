"""Reciprocal rank fusion.

.. math:: \\mathrm{RRF}(d) = \\sum_{r \\in R} \\frac{w_r}{k + \\mathrm{rank}_r(d)}

where :math:`\\mathrm{rank}_r(d)` is the 1-based rank of ``d`` in run ``r`` (documents absent from a run contribute
nothing) and :math:`k = 60`.

Cormack, Clarke and Büttcher, "Reciprocal Rank Fusion outperforms Condorcet and individual Rank Learning Methods",
SIGIR 2009. https://doi.org/10.1145/1571941.1572114
"""

from __future__ import annotations


def rrf(runs: list[dict[str, float]], k: float = 60.0, weights: list[float] | None = None) -> dict[str, float]:
    """Fuse runs (``{doc: score}``, higher is better) by reciprocal rank. Returns a run sorted best first."""
    weights = weights or [1.0] * len(runs)
    fused: dict[str, float] = {}
    for run, w in zip(runs, weights):
        ranked = sorted(run.items(), key=lambda kv: (-kv[1], kv[0]))
        for rank, (doc, _score) in enumerate(ranked, start=1):
            fused[doc] = fused.get(doc, 0.0) + w / (k + rank)
    return dict(sorted(fused.items(), key=lambda kv: (-kv[1], kv[0])))
