"""Folder suggestion: where a new or unfiled document belongs, from the folders of its nearest neighbours.

A weighted k-nearest-neighbour vote (Dudani 1976) over document embeddings: each of the ``k`` most similar filed
documents votes for its folder with weight ``max(cos, 0)^p``; a folder's confidence is its share of the votes. A sharp
``p`` lets a close match outvote several loose ones. Measured against a majority baseline and TF-IDF + a linear model
by ``spyglass eval folders`` (BENCHMARKS.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class FolderSuggestion:
    folder: str
    confidence: float
    examples: list[str] = field(default_factory=list)  # ids of the neighbours that voted for it

    def to_dict(self) -> dict[str, Any]:
        return {"folder": self.folder, "confidence": round(self.confidence, 4), "examples": self.examples}


def suggest_folders(query: Any, vectors: Any, folders: list[str], ids: list[str] | None = None, k: int = 15,
                    power: float = 3.0, top: int = 3, exclude: set[int] | None = None) -> list[FolderSuggestion]:
    """``query``: one unit vector; ``vectors``: the filed documents' unit vectors (rows), ``folders[i]`` the folder of
    row ``i``. ``exclude``: rows to ignore (the document itself when it is already filed)."""
    import numpy as np

    if len(folders) == 0:
        return []
    sims = vectors @ query
    if exclude:
        sims = sims.copy()
        sims[list(exclude)] = -np.inf
    k = min(k, len(folders))
    nn = np.argpartition(-sims, k - 1)[:k]
    nn = nn[np.argsort(-sims[nn])]
    votes: dict[str, float] = {}
    examples: dict[str, list[str]] = {}
    for i in nn:
        if not np.isfinite(sims[i]):
            continue
        w = max(float(sims[i]), 0.0) ** power
        votes[folders[i]] = votes.get(folders[i], 0.0) + w
        if ids is not None and len(examples.setdefault(folders[i], [])) < 3:
            examples[folders[i]].append(ids[i])
    total = sum(votes.values())
    if total <= 0:
        return []
    ranked = sorted(votes.items(), key=lambda kv: -kv[1])[:top]
    return [FolderSuggestion(f, v / total, examples.get(f, [])) for f, v in ranked]
