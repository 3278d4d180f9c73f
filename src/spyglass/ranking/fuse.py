"""The fusion stage: the rankings of the retrievers (keyword, semantic, image) into one ranking of the one hit type.
The formulas are :mod:`spyglass.retrieval.fusion` (one per file); this stage chooses one, carries every run's rank and
score on each hit (``hit.ranks``, ``hit.signals``: the features of the rerankers), and keeps the best passage a
retriever found (the keyword one when it matched the words)."""

from __future__ import annotations

from dataclasses import dataclass

from spyglass.core.errors import SpyglassError
from spyglass.core.query import SearchRequest
from spyglass.core.types import Hit, Ranking
from spyglass.retrieval.fusion import language_gate, normalized_sum, rrf, zscore_sum

FUSIONS = ("rrf", "normalized", "zscore")
TEXT_RUNS = ("keyword", "semantic")


@dataclass
class Fuse:
    method: str = "normalized"
    alpha: float = 0.5  # weight of the semantic run (keyword: 1 - alpha)
    rrf_k: float = 60.0
    image_weight: float = 0.5  # weight of the image run against the fused text ranking
    language_gate: bool = True  # the semantic weight times the gate of the run's ``weight`` (the query's familiarity)

    def run(self, request: SearchRequest, runs: dict[str, Ranking]) -> Ranking:
        """One ranking from ``runs`` (keyed by retriever name). A single text run passes through unchanged."""
        text = {n: runs[n] for n in TEXT_RUNS if n in runs}
        fused = self._text(text, request.fusion or self.method)
        if "image" in runs:
            fused = self._images(fused, runs["image"])
        fused.timings = {k: v for r in runs.values() for k, v in r.timings.items()}
        return fused

    def _text(self, runs: dict[str, Ranking], method: str) -> Ranking:
        names = list(runs)
        meaning = self._meaning(runs)
        if len(names) == 1:  # one run passes through, in its own order
            only = runs[names[0]]
            return Ranking(merge(only.run(), runs), only.total, list(only.fuzzy), weight=meaning, exact=only.exact)
        if not names:
            return Ranking()
        if method not in FUSIONS:
            raise SpyglassError(f"unknown fusion {method!r}: use one of {', '.join(FUSIONS)}")
        # semantic: alpha, times the language gate (``meaning``); keyword: 1 - alpha
        weights = [self.alpha * meaning if n == "semantic" else 1 - self.alpha for n in names]
        if method == "rrf":
            scores = rrf([runs[n].run() for n in names], k=self.rrf_k, weights=[2 * w for w in weights])
        elif method == "zscore":
            scores = zscore_sum([runs[n].run() for n in names], weights)
        else:
            scores = normalized_sum([runs[n].run() for n in names], weights)
        hits = merge(scores, runs)
        keyword = runs.get("keyword", Ranking())
        total = keyword.total + sum(1 for h in hits if "keyword" not in h.ranks)
        return Ranking(hits, total, list(keyword.fuzzy), weight=meaning, exact=keyword.exact)

    def _meaning(self, runs: dict[str, Ranking]) -> float:
        """What the fused ranking may trust of meaning: the language gate of the semantic run (1 without one, or
        with the gate off). 0 means the model knows none of the query's words: its neighbours are not matches."""
        semantic = runs.get("semantic")
        if semantic is None or not self.language_gate:
            return 1.0
        return language_gate(semantic.weight)

    def _images(self, text: Ranking, images: Ranking) -> Ranking:
        runs = {"text": text, "image": images}
        scores = normalized_sum([text.run(), images.run()], [1 - self.image_weight, self.image_weight])
        return Ranking(merge(scores, runs), max(text.total, images.total), text.fuzzy, weight=text.weight,
                       exact=text.exact)


def merge(scores: dict[str, float], runs: dict[str, Ranking]) -> list[Hit]:
    """Hits in the order of ``scores`` (best first), each carrying the ranks and scores of every run that found it;
    the passage is the first run's that found the document (keyword before semantic)."""
    found: dict[str, list[tuple[str, Hit]]] = {}
    for name, ranking in runs.items():
        for h in ranking.hits:
            found.setdefault(h.id, []).append((name, h))
    out = []
    for doc, score in scores.items():
        _, first = found[doc][0]
        hit = Hit(doc, score, first.chunk, first.page)
        for name, h in found[doc]:
            hit.ranks.update(h.ranks)
            hit.signals.update(h.signals)
            hit.signals[name] = h.score
        out.append(hit)
    return out
