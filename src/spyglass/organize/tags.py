"""Tag suggestions, each with its true reason: the user's own tags on similar documents, folder names of similar
documents, and zero-shot closeness to a tag vocabulary.

Learned from tags (source ``tagged``): a similarity-weighted k-nearest-neighbour vote over document vectors (Dudani
1976). Among the ``k`` nearest documents, each neighbour ``j`` votes ``+cos(q, j)`` for its tags and ``−cos(q, j)`` for
the tags rejected on it; a tag's score is

    s(t) = Σ_j w_j(t) · cos(q, j) / Σ_j |cos(q, j)|        (w = +1 tagged, −1 rejected, 0 otherwise)

in [−1, 1], reported as "similar documents are tagged 'x' (n of k)" with ``n`` the neighbours that carry it.

Folder names (source ``folder``): the same vote over the folder names of the neighbours (generic folders and the
document's own folders left out: it is already filed there), at half weight, reported as "n of k similar documents are
in a folder named 'x'". Never a reason to tag en masse: plans use only the other two sources.

Zero-shot (source ``zero-shot``): the cosine between the document and the embedded phrase "a document about {tag}"
for each tag of the vocabulary, kept when it beats the vocabulary's mean by ``margin``.

Tags the user rejected on a document are never suggested for it again; tags it has are not suggested.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

GENERIC_FOLDERS = frozenset("""documents docs files misc other stuff new old archive tmp temp data downloads desktop
home users user private shared inbox sent drafts attachments export exports backup copy""".split())
FOLDER_WEIGHT = 0.5
SOURCES = ("tagged", "zero-shot", "folder")


@dataclass
class Vote:
    score: float
    n: int  # neighbours that carry the label
    k: int  # neighbours looked at


@dataclass
class TagSuggestion:
    tag: str
    score: float
    reasons: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # tagged | zero-shot | folder, best first

    def to_dict(self) -> dict[str, Any]:
        return {"tag": self.tag, "score": round(self.score, 4), "reasons": self.reasons, "sources": self.sources}


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


def knn_votes(query: Any, vectors: Any, labels: list[dict[str, float]], k: int = 10,
              exclude: int | None = None) -> dict[str, Vote]:
    """``labels[i]``: label → +1 (carried) or −1 (rejected) for row ``i`` of ``vectors``; the weighted vote above."""
    import numpy as np

    if len(labels) == 0:
        return {}
    sims = vectors @ query
    if exclude is not None:
        sims = sims.copy()
        sims[exclude] = -np.inf
    k = min(k, len(labels) - (exclude is not None))
    if k <= 0:
        return {}
    nn = np.argpartition(-sims, k - 1)[:k]
    nn = [i for i in nn if np.isfinite(sims[i])]
    norm = sum(abs(float(sims[i])) for i in nn) or 1.0
    votes: dict[str, float] = {}
    carriers: dict[str, int] = {}
    for i in nn:
        for tag, w in labels[i].items():
            votes[tag] = votes.get(tag, 0.0) + w * float(sims[i])
            carriers[tag] = carriers.get(tag, 0) + (w > 0)
    return {t: Vote(v / norm, carriers[t], len(nn)) for t, v in votes.items()}


def zero_shot_scores(query: Any, tag_vectors: Any, vocabulary: list[str], margin: float = 0.05) -> dict[str, float]:
    """Cosine to each vocabulary tag's phrase vector, for tags beating the vocabulary mean by ``margin``."""
    if not vocabulary:
        return {}
    sims = tag_vectors @ query
    mean = float(sims.mean())
    return {t: float(s) for t, s in zip(vocabulary, sims) if s - mean >= margin or len(vocabulary) == 1}


def combine(tagged: dict[str, Vote], folders: dict[str, Vote], zero_shot: dict[str, float], rejected: set[str],
            present: set[str], top: int = 5, min_score: float = 0.2) -> list[TagSuggestion]:
    """The best ``top`` suggestions over the three sources (a tag's score is its best source's), with every source
    that reached ``min_score`` as a reason."""
    found: dict[str, list[tuple[float, str, str]]] = {}
    for tag, v in tagged.items():
        found.setdefault(tag, []).append((v.score, "tagged", f"similar documents are tagged {tag!r} ({v.n} of {v.k})"))
    for tag, v in folders.items():
        found.setdefault(tag, []).append((FOLDER_WEIGHT * v.score, "folder",
                                          f"{v.n} of {v.k} similar documents are in a folder named {tag!r}"))
    for tag, s in zero_shot.items():
        why = f"zero-shot: close to the meaning of {tag!r} (cosine {s:.2f})"
        found.setdefault(tag, []).append((s, "zero-shot", why))
    out = []
    for tag, got in found.items():
        good = sorted((g for g in got if g[0] >= min_score), key=lambda g: -g[0])
        if good and tag not in rejected and tag not in present:
            out.append(TagSuggestion(tag, good[0][0], [g[2] for g in good], [g[1] for g in good]))
    return sorted(out, key=lambda t: (-t.score, t.tag))[:top]


@dataclass
class TagBoard:
    """Everything a suggestion reads, gathered once for many documents: their vectors (rows of ``x``, ids in
    ``ids``), the tags on them (``tags[id]``: tag → +1 carried or −1 rejected), their folder names, and the zero-shot
    vocabulary with its phrase vectors."""

    ids: list[str]
    x: Any
    tags: dict[str, dict[str, float]]
    folders: dict[str, list[str]]
    vocabulary: list[str] = field(default_factory=list)
    vocabulary_x: Any = None
    k: int = 10

    def __post_init__(self) -> None:
        self.row = {i: n for n, i in enumerate(self.ids)}
        self._tagged = [{t: w for t, w in self.tags.get(i, {}).items()} for i in self.ids]
        self._folders = [{**{f: 1.0 for f in self.folders.get(i, [])},
                          **{t: -1.0 for t, w in self.tags.get(i, {}).items() if w < 0}} for i in self.ids]

    def suggest(self, iid: str, top: int = 5, min_score: float = 0.2) -> list[TagSuggestion]:
        """Suggestions for one document of the board (none when it has no vector)."""
        n = self.row.get(iid)
        if n is None:
            return []
        q = self.x[n]
        own = self.tags.get(iid, {})
        rejected = {t for t, w in own.items() if w < 0}
        present = {t for t, w in own.items() if w > 0} | set(self.folders.get(iid, []))  # filed there already
        tagged = knn_votes(q, self.x, self._tagged, self.k, exclude=n) if any(self._tagged) else {}
        folders = knn_votes(q, self.x, self._folders, self.k, exclude=n)
        zs = zero_shot_scores(q, self.vocabulary_x, self.vocabulary) if self.vocabulary else {}
        return combine(tagged, folders, zs, rejected, present, top, min_score)
