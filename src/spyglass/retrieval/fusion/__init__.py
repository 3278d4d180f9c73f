"""Fusion of ranked lists. A run is ``{doc_id: score}``; every method maps a list of runs to one run. One method per
file, with its formula and citation."""

from spyglass.retrieval.fusion.language_gate import language_gate
from spyglass.retrieval.fusion.normalized import normalized_sum
from spyglass.retrieval.fusion.rrf import rrf
from spyglass.retrieval.fusion.zscore import zscore_sum

__all__ = ["rrf", "normalized_sum", "zscore_sum", "language_gate"]
