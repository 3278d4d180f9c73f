"""Simulated users for offline learning-to-rank evaluation: clicks from a click model over the current ranking.

Position-based model (Craswell et al. 2008): the result at position ``k`` is examined with probability
``θ_k = (1/k)^η`` and, if examined, clicked with probability ``1 − ε`` when relevant and ``ε`` when not (Joachims et al.
2017's noise setting). Cascade model (Craswell et al. 2008): results are scanned from the top, a relevant one is
clicked with probability ``1 − ε`` and ends the session, a non-relevant one is clicked with probability ``ε``.
The shown order gets the logger's light randomisation: one random adjacent pair swapped (RandPair).
"""

from __future__ import annotations

import random

from spyglass.ranking.propensity import Impression


def shown_order(ranking: list[str], rng: random.Random, top: int = 10, randomize: bool = True) -> list[str]:
    shown = list(ranking[:top])
    if randomize and len(shown) > 1:
        k = rng.randrange(1, len(shown))
        shown[k - 1], shown[k] = shown[k], shown[k - 1]
    return shown


def simulate(qkey: str, ranking: list[str], relevant: set[str], rng: random.Random, sessions: int = 20,
             model: str = "pbm", eta: float = 1.0, eps: float = 0.1, top: int = 10) -> list[Impression]:
    out: list[Impression] = []
    for _ in range(sessions):
        shown = shown_order(ranking, rng, top)
        if model == "pbm":
            for k, d in enumerate(shown, 1):
                p = (1.0 / k) ** eta * ((1 - eps) if d in relevant else eps)
                out.append((qkey, d, k, int(rng.random() < p)))
        elif model == "cascade":
            stopped = False
            for k, d in enumerate(shown, 1):
                if stopped:
                    out.append((qkey, d, k, 0))
                    continue
                c = rng.random() < ((1 - eps) if d in relevant else eps)
                out.append((qkey, d, k, int(c)))
                stopped = c and d in relevant
        else:
            raise ValueError(f"unknown click model {model!r}: pbm or cascade")
    return out


def true_propensities(eta: float = 1.0, top: int = 10) -> list[float]:
    return [(1.0 / k) ** eta for k in range(1, top + 1)]
