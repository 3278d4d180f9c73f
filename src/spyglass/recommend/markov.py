"""A first-order Markov chain over what is opened next (the sequence model; cf. Rendle et al.'s FPMC, WWW 2010, whose
transition part this is).

``P(j | i) = (n(i → j) + β · pop(j)) / (n(i →) + β)``: transition counts from consecutive interactions, smoothed
towards popularity so an unseen transition still ranks by how common the item is.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from spyglass.recommend.data import Interactions


class MarkovChain:
    def __init__(self, beta: float = 5.0) -> None:
        self.beta = beta

    def fit(self, data: Interactions) -> MarkovChain:
        import numpy as np

        self.next: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self.out: dict[int, int] = defaultdict(int)
        pop = np.zeros(data.n_items)
        for seq in data.sequences:
            for a, b in zip(seq, seq[1:]):
                if a != b:
                    self.next[a][b] += 1
                    self.out[a] += 1
            for i in seq:
                pop[i] += 1
        self.pop = pop / max(1.0, pop.sum())
        self.last = [seq[-1] if seq else None for seq in data.sequences]
        return self

    def score_after(self, last: int | None, items: Any) -> Any:
        import numpy as np

        base = self.beta * self.pop[items]
        if last is None:
            return base
        row = self.next.get(last, {})
        counts = np.array([row.get(int(i), 0) for i in items], dtype=np.float64)
        return (counts + base) / (self.out.get(last, 0) + self.beta)

    def score(self, user: int, items: Any) -> Any:
        return self.score_after(self.last[user], items)
