"""Tag suggestions: learned from the user's own tags and folder names, and zero-shot from a tag vocabulary.

Learned: a similarity-weighted k-nearest-neighbour classifier over document embeddings (Dudani 1976). Each labelled
neighbour ``j`` among the ``k`` nearest votes ``+cos`` for its tags and ``−cos`` for the tags rejected on it; the score
of a tag is its vote sum over the summed ``|cos|`` of the neighbours, in [−1, 1]. Folder names count as weak labels
(half a vote). Zero-shot: the cosine between the document and the embedded phrase "a document about {tag}", kept when
it beats the vocabulary's mean by ``margin``. Tags the user rejected on a document are never suggested for it again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

GENERIC_FOLDERS = frozenset("""documents docs files misc other stuff new old archive tmp temp data downloads desktop
home users user private shared inbox sent drafts attachments export exports backup copy""".split())


@dataclass
class TagSuggestion:
    tag: str
    score: float
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"tag": self.tag, "score": round(self.score, 4), "reasons": self.reasons}


def folder_labels(path: str, root: str) -> list[str]:
    """Folder names between the source root and the file, as tags (``Projects/Apollo/x.doc`` → projects, apollo)."""
    rel = path[len(root):] if root and path.startswith(root) else path
    parts = [p for p in re.split(r"[\\/]+", rel)[:-1] if p]
    out = []
    for p in parts:
        t = re.sub(r"[^0-9a-z]+", "-", p.lower()).strip("-")
        if t and t not in GENERIC_FOLDERS and not t.isdigit() and len(t) > 1:
            out.append(t)
    return out


def knn_tag_scores(query: Any, vectors: Any, labels: list[dict[str, float]], k: int = 10,
                   exclude: int | None = None) -> dict[str, float]:
    """``labels[i]``: tag → +weight (tagged) or −weight (rejected) for row ``i`` of ``vectors``."""
    import numpy as np

    if len(labels) == 0:
        return {}
    sims = vectors @ query
    if exclude is not None:
        sims = sims.copy()
        sims[exclude] = -np.inf
    k = min(k, len(labels))
    nn = np.argpartition(-sims, k - 1)[:k]
    norm = sum(abs(float(sims[i])) for i in nn if np.isfinite(sims[i])) or 1.0
    votes: dict[str, float] = {}
    for i in nn:
        if not np.isfinite(sims[i]):
            continue
        for tag, w in labels[i].items():
            votes[tag] = votes.get(tag, 0.0) + w * float(sims[i])
    return {t: v / norm for t, v in votes.items()}


def zero_shot_scores(query: Any, tag_vectors: Any, vocabulary: list[str], margin: float = 0.05) -> dict[str, float]:
    """Cosine to each vocabulary tag's phrase vector, for tags beating the vocabulary mean by ``margin``."""
    if not vocabulary:
        return {}
    sims = tag_vectors @ query
    mean = float(sims.mean())
    return {t: float(s) for t, s in zip(vocabulary, sims) if s - mean >= margin or len(vocabulary) == 1}


def combine(learned: dict[str, float], zero_shot: dict[str, float], rejected: set[str], present: set[str],
            top: int = 5, min_score: float = 0.2) -> list[TagSuggestion]:
    out: dict[str, TagSuggestion] = {}
    for tag, s in learned.items():
        if s >= min_score:
            out[tag] = TagSuggestion(tag, s, [f"similar documents are tagged {tag!r}"])
    for tag, s in zero_shot.items():
        if s >= min_score:
            cur = out.get(tag)
            if cur is None or s > cur.score:
                out[tag] = TagSuggestion(tag, s, (cur.reasons if cur else []) + [f"matches the tag {tag!r} itself"])
    ranked = [t for t in sorted(out.values(), key=lambda t: (-t.score, t.tag))
              if t.tag not in rejected and t.tag not in present]
    return ranked[:top]
