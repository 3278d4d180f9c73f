"""A first-order Markov chain over what is opened next (the sequence model; cf. Rendle et al.'s FPMC, WWW 2010, whose
transition part this is).

``P(j | i) = (n(i → j) + β · pop(j)) / (n(i →) + β)``: transition counts from consecutive interactions, smoothed
towards popularity so an unseen transition still ranks by how common the item is.

``min_support`` (Spyglass's rule between users, :mod:`spyglass.recommend.shared`): a transition ``i → j`` counts
only when at least ``min_support`` distinct users other than the ``exempt`` one made it; the exempt user's (the
caller's) own transitions always count.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from spyglass.recommend.data import Interactions


class MarkovChain:
    def __init__(self, beta: float = 5.0, min_support: int = 0, exempt: int | None = None) -> None:
        self.beta, self.min_support, self.exempt = beta, min_support, exempt

    def fit(self, data: Interactions) -> MarkovChain:
        import numpy as np

        counts: dict[tuple[int, int], int] = defaultdict(int)
        users: dict[tuple[int, int], set[int]] = defaultdict(set)
        pop = np.zeros(data.n_items)
        for u, seq in enumerate(data.sequences):
            for a, b in zip(seq, seq[1:]):
                if a != b:
                    counts[(a, b)] += 1
                    users[(a, b)].add(u)
            for i in seq:
                pop[i] += 1
        self.next: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self.out: dict[int, int] = defaultdict(int)
        own = data.sequences[self.exempt] if self.exempt is not None else []
        own_counts: dict[tuple[int, int], int] = defaultdict(int)
        for a, b in zip(own, own[1:]):
            if a != b:
                own_counts[(a, b)] += 1
        for (a, b), n in counts.items():
            others = len(users[(a, b)] - {self.exempt})
            kept = n if others >= self.min_support else own_counts[(a, b)]
            if kept:
                self.next[a][b] += kept
                self.out[a] += kept
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
