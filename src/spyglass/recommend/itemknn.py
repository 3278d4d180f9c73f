"""Item-based collaborative filtering (Sarwar et al., WWW 2001; Deshpande & Karypis, TOIS 2004).

Two items are similar by the cosine of their user sets, ``sim(i, j) = |U_i ∩ U_j| / sqrt(|U_i| · |U_j|)``; a user's
score for item ``i`` is the summed similarity of ``i`` to the items in the user's history. Co-access in Spyglass is
the same formula over "opened by" sets.

``min_support`` (Spyglass's rule between users, :mod:`spyglass.recommend.shared`): a co-occurrence
``|U_i ∩ U_j|`` made by fewer than ``min_support`` users other than the ``exempt`` one (the caller, whose own history
always counts) is dropped — the support threshold of association rules, here a privacy floor.
"""

from __future__ import annotations

from typing import Any

from spyglass.recommend.data import Interactions


class ItemKNN:
    def __init__(self, min_support: int = 0, exempt: int | None = None) -> None:
        self.min_support, self.exempt = min_support, exempt

    def fit(self, data: Interactions) -> ItemKNN:
        import numpy as np

        self.x = data.matrix().tocsc()
        self.norm = np.sqrt(np.asarray(self.x.sum(axis=0)).ravel()) + 1e-9
        self.history = [sorted(set(s)) for s in data.sequences]
        return self

    def similar(self, items: Any, to: Any) -> Any:
        """``len(items) × len(to)`` cosine similarities."""
        co = (self.x[:, items].T @ self.x[:, to]).toarray()
        if self.min_support > 1:
            own = self._own(items, to)
            others = co - own
            co = own + others * (others >= self.min_support)
        return co / self.norm[items][:, None] / self.norm[to][None, :]

    def _own(self, items: Any, to: Any) -> Any:
        """The exempt user's part of the co-occurrence counts (0 or 1 per pair)."""
        import numpy as np

        if self.exempt is None:
            return np.zeros((len(items), len(to)))
        row = self.x.tocsr()[self.exempt].toarray().ravel()
        return np.outer(row[items], row[to])

    def score(self, user: int, items: Any) -> Any:
        import numpy as np

        hist = self.history[user]
        if not hist:
            return np.zeros(len(items))
        return self.similar(items, hist).sum(axis=1)
