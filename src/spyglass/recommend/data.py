"""Interactions as index arrays: users and items mapped to 0…n−1, sequences kept in time order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Interactions:
    n_users: int
    n_items: int
    sequences: list[list[int]]  # per user, items in time order (repeats allowed)
    weights: list[list[float]] = field(default_factory=list)  # optional per interaction (e.g. recency); 1 if empty

    def matrix(self) -> Any:
        """Binary user × item CSR matrix."""
        import numpy as np
        from scipy.sparse import csr_matrix

        rows, cols = [], []
        for u, seq in enumerate(self.sequences):
            for i in set(seq):
                rows.append(u)
                cols.append(i)
        return csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(self.n_users, self.n_items))
