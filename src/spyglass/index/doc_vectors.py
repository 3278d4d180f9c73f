"""Document vectors: one unit vector per document, the mean of its passage vectors.

    d = m / ‖m‖,    m = (1 / |P(d)|) · Σ_{p ∈ P(d)} v_p

over the passage vectors ``v_p`` the vector index holds for document ``d`` (a file, or a mail message, chat day or
attachment inside one: every item with text has its own passages). A document without passage vectors (no text, or
not embedded yet) has no document vector. Organize (topics, tags, folder suggestions) and related files read them.

The vector index and the embedder are opened on first use (``vectors(required)`` and ``embedder()`` are the callables
the composition root hands in), so a caller that never needs a vector never loads a model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from spyglass.core.errors import SpyglassError
from spyglass.index.catalog import Catalog

VectorsFn = Callable[[bool], Any]  # (required) -> VectorIndex | None; required=True raises why there is none
EmbedderFn = Callable[[], Any]


class DocumentVectors:
    def __init__(self, catalog: Catalog, vectors: VectorsFn, embedder: EmbedderFn) -> None:
        self.catalog = catalog
        self._vectors = vectors
        self._embedder = embedder

    def available(self) -> bool:
        """Whether the index has passage vectors to read (semantic search is on and something was embedded)."""
        return self._vectors(False) is not None

    def of(self, ids: list[str], required: bool = False) -> tuple[list[str], Any]:
        """``(ids that have vectors, in the given order; their unit document vectors as rows)``. ``required``: raise
        the reason when there are no vectors at all instead of returning none."""
        import numpy as np

        index = self._vectors(required)
        if index is None:
            return [], np.zeros((0, 1), dtype=np.float32)
        keys = self.catalog.passage_keys(ids)
        have = [i for i in ids if i in keys]
        if not have:
            return [], np.zeros((0, index.dim), dtype=np.float32)
        passages = index.get([k for i in have for k in keys[i]])
        out = np.zeros((len(have), passages.shape[1]), dtype=np.float32)
        pos = 0
        for n, i in enumerate(have):
            m = len(keys[i])
            out[n] = passages[pos : pos + m].mean(axis=0)
            pos += m
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return have, out

    def embed_texts(self, texts: list[str], max_chars: int = 4000) -> Any:
        """Unit vectors of texts that are not in the index (an unindexed file, a tag's phrase)."""
        import numpy as np

        if not texts:
            raise SpyglassError("nothing to embed")
        v = np.asarray(self._embedder().embed([t[:max_chars] for t in texts]), dtype=np.float32)
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)

    def embed_text(self, text: str) -> Any:
        return self.embed_texts([text])[0]
