"""Topics: built once over every document with a vector, shown to each caller from what they may read.

Build: the document vectors (files, mail messages, chat days, attachments — :mod:`spyglass.index.doc_vectors`) are
clustered by spherical k-means with k chosen by silhouette (:mod:`spyglass.organize.clustering`); each document keeps
its topic and its cosine to the topic's centroid, and its most frequent content words
(:func:`spyglass.organize.ctfidf.label_terms`).

View: a topic's size, label words (class-based TF-IDF, :mod:`spyglass.organize.ctfidf`) and examples come from the
caller's readable members only, so no word of a file the caller cannot open ever shows.
"""

from __future__ import annotations

from typing import Any

from spyglass.organize.clustering import choose_topics
from spyglass.organize.ctfidf import ctfidf


def cluster(ids: list[str], x: Any, k: int | None = None) -> tuple[dict[str, tuple[int, float]], dict[str, Any]]:
    """``({id: (topic, cosine to its centroid)}, report)`` for the documents ``ids`` (rows of ``x``)."""
    labels, centroids, report = choose_topics(x, k)
    sims = (x * centroids[labels]).sum(axis=1)
    return {i: (int(t), float(s)) for i, t, s in zip(ids, labels, sims)}, {"documents": len(ids), **report}


def views(members: dict[int, list[str]], term_counts: dict[int, dict[str, int]], info: dict[str, dict[str, Any]],
          terms: int = 5, examples: int = 3) -> list[dict[str, Any]]:
    """Topics as one caller sees them, largest first. ``members``: topic → the caller's readable documents, best
    first; ``term_counts``: topic → summed word counts over those; ``info``: catalog rows of the examples."""
    weights = ctfidf(term_counts)
    out = []
    for t, ids in sorted(members.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        words = [w for w, _ in weights.get(t, [])[:terms]]
        out.append({"id": t, "label": ", ".join(words), "terms": words, "size": len(ids),
                    "examples": [{"id": i, "title": info[i]["title"] or info[i]["name"], "path": info[i]["path"]}
                                 for i in ids[:examples] if i in info]})
    return out
