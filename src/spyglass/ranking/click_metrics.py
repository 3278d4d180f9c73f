"""Offline evaluation of a ranking from logged clicks, corrected for position bias: how high would this ranking have
put the results the user actually chose?

For logged searches ``s`` with clicked documents ``C_s``, each click at shown position ``k`` weighted
``w = 1 / max(θ_k, clip)`` (inverse propensity; Joachims, Swaminathan & Schnabel, WSDM 2017), and ``r_s(d)`` the rank
the evaluated ranking gives ``d`` (∞ when it does not return it):

    nDCG@10 = Σ_s Σ_{d∈C_s} w · [r_s(d) ≤ 10] / log2(1 + r_s(d))  /  Σ_s Σ_{d∈C_s} w
    MRR     = Σ_s Σ_{d∈C_s} w / r_s(d)  /  Σ_s Σ_{d∈C_s} w

— with one click per search, each search's term is its nDCG@10 (or reciprocal rank) with the click as the one relevant
document, averaged with self-normalised inverse-propensity weights (Swaminathan & Joachims, NeurIPS 2015), so clicks
that were hard to get (shown low) count as much as the ranking owes them. Two rankings measured on the same searches
with the same weights compare directly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Clicks = Sequence[tuple[str, int]]  # (document, position it was shown at, 1-based)


def click_metrics(searches: Sequence[tuple[Sequence[str], Clicks]], theta: Sequence[float],
                  clip: float = 0.0) -> dict[str, float]:
    """``{"ndcg@10", "mrr", "clicks"}`` of rankings (one list of documents per search, best first) against each
    search's logged clicks."""
    num_dcg = num_rr = den = 0.0
    n = 0
    for ranking, clicks in searches:
        rank = {d: r for r, d in enumerate(ranking, 1)}
        for d, pos in clicks:
            w = 1.0 / max(theta[pos - 1] if 1 <= pos <= len(theta) else theta[-1], clip, 1e-6)
            r = rank.get(d)
            den += w
            n += 1
            if r is not None:
                num_rr += w / r
                if r <= 10:
                    num_dcg += w / math.log2(1 + r)
    return {"ndcg@10": round(num_dcg / den, 4) if den else 0.0, "mrr": round(num_rr / den, 4) if den else 0.0,
            "clicks": n}
