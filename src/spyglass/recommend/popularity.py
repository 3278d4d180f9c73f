"""Popularity: score an item by how many users interacted with it (the standard non-personalised baseline)."""

from __future__ import annotations

from typing import Any

from spyglass.recommend.data import Interactions


class Popularity:
    def fit(self, data: Interactions) -> Popularity:
        import numpy as np

        self.counts = np.asarray(data.matrix().sum(axis=0)).ravel()
        return self

    def score(self, user: int, items: Any) -> Any:
        return self.counts[items]
