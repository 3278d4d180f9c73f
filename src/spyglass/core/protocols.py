"""The contracts of the search pipeline's stages (Haystack-2 style: a light constructor, ``run()`` as the contract).
Every retriever and reranker takes the one request type and returns the one ranking type of
:mod:`spyglass.core.types`; ``spyglass.ranking.pipeline.SearchPipeline`` puts them in order."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from spyglass.core.query import SearchRequest
from spyglass.core.types import Ranking


@runtime_checkable
class Retriever(Protocol):
    """Finds documents for a request, inside the index: the request's filters and principals are part of the
    index query. ``name`` keys the rank and score it gives each hit (``hit.ranks[name]``, ``hit.signals[name]``)."""

    name: str

    def run(self, request: SearchRequest, k: int | None = None) -> Ranking: ...


@runtime_checkable
class Reranker(Protocol):
    """Re-scores candidates: returns the same documents (none added, none lost), best first, each with the score it
    came in with kept in ``hit.signals``."""

    name: str

    def run(self, request: SearchRequest, candidates: Ranking) -> Ranking: ...


class PairScorer(Protocol):
    """A model that scores (query, passage) pairs: a cross-encoder, the trained reranker, MaxSim."""

    def score(self, query: str, passages: list[str]) -> list[float]: ...
