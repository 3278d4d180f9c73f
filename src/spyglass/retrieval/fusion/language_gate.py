"""The language gate: how much of its weight the semantic run keeps for a query, from the share of the query's words
the embedding model knows (:meth:`spyglass.models.embedder.OnnxEmbedder.familiarity`).

.. math:: g(f) = \\min\\left(1, \\max\\left(0, \\frac{f - f_0}{f_1 - f_0}\\right)\\right), \\qquad f_0 = 0.35,\\ f_1 = 0.75

and the semantic weight becomes :math:`g(f) \\cdot \\alpha`. A query the model reads (three words in four known as
whole words: English, jargon included) keeps the full weight; a query in a language it was not trained on (German
queries: median f = 0.38; Chinese: f = 0) leaves the ranking to keyword search, which is measured to be far better
there (XQuAD-zh: keyword 0.966, semantic 0.271 nDCG@10). The window was set on the development collections
(BENCHMARKS.md, "Fusion × collections"); the same two constants hold for every collection.
"""

from __future__ import annotations

KNOWN_NONE = 0.35  # f at or below: the semantic run gets no weight
KNOWN_ENOUGH = 0.75  # f at or above: the semantic run keeps its full weight


def language_gate(familiarity: float, lo: float = KNOWN_NONE, hi: float = KNOWN_ENOUGH) -> float:
    """The share (0..1) of the semantic weight kept for a query whose words the model knows at ``familiarity``."""
    return min(1.0, max(0.0, (familiarity - lo) / (hi - lo)))
