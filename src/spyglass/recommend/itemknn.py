"""Item-based collaborative filtering (Sarwar et al., WWW 2001; Deshpande & Karypis, TOIS 2004).

Two items are similar by the cosine of their user sets, ``sim(i, j) = |U_i ∩ U_j| / sqrt(|U_i| · |U_j|)``; a user's
score for item ``i`` is the summed similarity of ``i`` to the items in the user's history. Co-access in Spyglass is
the same formula over "opened by" sets.
"""

from __future__ import annotations

from typing import Any

from spyglass.recommend.data import Interactions


class ItemKNN:
    def fit(self, data: Interactions) -> ItemKNN:
        import numpy as np

        self.x = data.matrix().tocsc()
        self.norm = np.sqrt(np.asarray(self.x.sum(axis=0)).ravel()) + 1e-9
        self.history = [sorted(set(s)) for s in data.sequences]
        return self

    def similar(self, items: Any, to: Any) -> Any:
        """``len(items) × len(to)`` cosine similarities."""
        co = (self.x[:, items].T @ self.x[:, to]).toarray()
        return co / self.norm[items][:, None] / self.norm[to][None, :]

    def score(self, user: int, items: Any) -> Any:
        import numpy as np

        hist = self.history[user]
        if not hist:
            return np.zeros(len(items))
        return self.similar(items, hist).sum(axis=1)
