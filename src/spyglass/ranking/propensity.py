"""Position bias from click logs: the position-based model (PBM) fitted by expectation-maximisation, and
inverse-propensity-weighted relevance labels.

PBM (Craswell et al., WSDM 2008; Chuklin, Markov & de Rijke, *Click Models for Web Search*, 2015, ch. 3):
``P(click | q, d, k) = θ_k · γ_{q,d}`` — a result is clicked when it is examined (probability ``θ_k`` at position ``k``)
and attractive (``γ``). EM (Wang et al., "Position Bias Estimation for Unbiased Learning to Rank in Personal Search",
WSDM 2018, §3): for a non-click,

    P(E=1, R=0 | C=0) = θ_k (1 − γ) / (1 − θ_k γ),    P(E=0, R=1 | C=0) = (1 − θ_k) γ / (1 − θ_k γ),

and the M-step averages ``c + (1 − c)·P(E=1, R=0 | C=0)`` per position for ``θ_k`` and ``c + (1 − c)·P(E=0, R=1 |
C=0)`` per (query, document) for ``γ``. The two are only separable when a document is seen at more than one position,
which is why Spyglass logs with light randomisation (adjacent pairs swapped at random; Radlinski & Joachims, AAAI
2006). ``θ`` is normalised so ``θ_1 = 1``.

IPW labels (Joachims, Swaminathan & Schnabel, WSDM 2017): a click at position ``k`` counts ``1 / θ_k``, so the
expected count of a document no longer depends on where it was shown: ``r̂(q, d) = Σ c / θ_k / impressions``.
"""

from __future__ import annotations

from collections import defaultdict

DEFAULT_CLIP = 0.2  # propensity floor for training labels (measured by `spyglass eval ltr`, BENCHMARKS.md)
Impression = tuple[str, str, int, int]  # (query key, document, position 1-based, clicked 0/1)


def em_propensities(log: list[Impression], positions: int = 10, iters: int = 50) -> list[float]:
    """``θ_1 … θ_positions`` (θ_1 = 1) from impressions."""
    theta = [1.0 / (k + 1) for k in range(positions)]
    gamma: dict[tuple[str, str], float] = defaultdict(lambda: 0.5)
    rows = [(q, d, k - 1, c) for q, d, k, c in log if 1 <= k <= positions]
    for _ in range(iters):
        t_num = [0.0] * positions
        t_den = [0.0] * positions
        g_num: dict[tuple[str, str], float] = defaultdict(float)
        g_den: dict[tuple[str, str], float] = defaultdict(float)
        for q, d, k, c in rows:
            t, g = theta[k], gamma[(q, d)]
            if c:
                e1r0, e0r1 = 1.0, 1.0
            else:
                z = max(1e-12, 1 - t * g)
                e1r0, e0r1 = t * (1 - g) / z, (1 - t) * g / z
            t_num[k] += e1r0 if not c else 1.0
            t_den[k] += 1
            g_num[(q, d)] += e0r1 if not c else 1.0
            g_den[(q, d)] += 1
        theta = [min(1.0, max(1e-4, t_num[k] / t_den[k])) if t_den[k] else theta[k] for k in range(positions)]
        for key in g_den:
            gamma[key] = min(1 - 1e-6, max(1e-6, g_num[key] / g_den[key]))
    top = theta[0] or 1.0
    return [min(1.0, t / top) for t in theta]


def ipw_relevance(log: list[Impression], theta: list[float] | None,
                  clip: float = 0.0) -> dict[tuple[str, str], float]:
    """``r̂(q, d)``: clicks weighted by ``1 / max(θ_k, clip)``, per impression. ``theta=None``: plain click-through
    rate. Clipping (Strehl et al., NeurIPS 2010; Joachims et al. 2017 §5) bounds a single lucky click's weight, trading
    a little bias at deep positions for much less variance."""
    num: dict[tuple[str, str], float] = defaultdict(float)
    den: dict[tuple[str, str], int] = defaultdict(int)
    for q, d, k, c in log:
        den[(q, d)] += 1
        if c:
            num[(q, d)] += 1.0 / (max(theta[k - 1], clip) if theta and k <= len(theta) else 1.0)
    return {key: num[key] / den[key] for key in den}


def grade(r: float, levels: int = 4) -> int:
    """A relevance estimate in [0, 1] (capped) as an integer grade 0 … levels for LambdaMART."""
    return int(round(levels * min(1.0, max(0.0, r))))
