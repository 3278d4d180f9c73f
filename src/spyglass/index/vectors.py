"""The vector index: faiss, beside the lexical index, under the same manifest.

Vectors are unit-normalised, so inner product is cosine similarity. Each passage has a ``vkey`` (int64, assigned by
the catalog's ``embeddings`` table). Up to ``exact_max`` vectors the index is exact (``IndexFlatIP``); beyond, an HNSW
graph (``IndexHNSWFlat``, M=32) answers in well under a millisecond with high recall. Both sit in an ``IndexIDMap2``
so results come back as vkeys.

Filters (access control, type, folder, dates) are applied *inside* the search with a faiss ``IDSelector`` over the
allowed vkeys, never by over-fetching and dropping. Deletes: exact indexes remove ids; an HNSW index keeps removed
ids in a tombstone set (excluded by the selector) and is rebuilt from its own vectors when tombstones exceed 20 %.

The file ``vectors/index.faiss`` is replaced atomically (write to a temporary file, fsync, rename).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

VEC_SCHEMA = 1


def _faiss():
    try:
        import faiss
    except ImportError as exc:
        from spyglass.core.errors import MissingExtraError

        raise MissingExtraError("semantic search", "semantic", "faiss") from exc
    return faiss


class VectorIndex:
    def __init__(self, path: Path, dim: int, exact_max: int = 50_000, threads: int = 0) -> None:
        self.path = path
        self.dim = dim
        self.exact_max = exact_max
        faiss = _faiss()
        faiss.omp_set_num_threads(threads or (os.cpu_count() or 1))
        self.file = path / "index.faiss"
        self.tombstones: set[int] = set()
        if self.file.exists():
            self.index = faiss.read_index(str(self.file))
            if self.index.d != dim:
                raise ValueError(f"vector index has dimension {self.index.d}, the model gives {dim}")
            ts = path / "tombstones.npy"
            if ts.exists():
                import numpy as np

                self.tombstones = set(int(x) for x in np.load(ts))
        else:
            self.index = self._new(exact=True)

    def _new(self, exact: bool) -> Any:
        faiss = _faiss()
        if exact:
            inner = faiss.IndexFlatIP(self.dim)
        else:
            inner = faiss.IndexHNSWFlat(self.dim, 32, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efConstruction = 80
            inner.hnsw.efSearch = 128
        return faiss.IndexIDMap2(inner)

    @property
    def is_exact(self) -> bool:
        faiss = _faiss()
        return isinstance(faiss.downcast_index(self.index.index), faiss.IndexFlat)

    def __len__(self) -> int:
        return int(self.index.ntotal) - len(self.tombstones)

    def add(self, keys: Any, vectors: Any) -> None:
        import numpy as np

        if len(keys) == 0:
            return
        self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(keys, dtype=np.int64))
        if self.is_exact and self.index.ntotal > self.exact_max:
            self._rebuild(exact=False)

    def remove(self, keys: list[int]) -> None:
        import numpy as np

        if not keys:
            return
        faiss = _faiss()
        if self.is_exact:
            self.index.remove_ids(faiss.IDSelectorBatch(np.asarray(keys, dtype=np.int64)))
        else:
            self.tombstones.update(keys)
            if len(self.tombstones) > 0.2 * max(1, self.index.ntotal):
                self._rebuild(exact=len(self) <= self.exact_max)

    def _rebuild(self, exact: bool) -> None:
        import numpy as np

        n = self.index.ntotal
        ids = _faiss().vector_to_array(self.index.id_map).astype(np.int64) if n else np.zeros(0, np.int64)
        vecs = self.index.index.reconstruct_n(0, n) if n else np.zeros((0, self.dim), np.float32)
        if self.tombstones:
            keep = np.array([i not in self.tombstones for i in ids], dtype=bool)
            ids, vecs = ids[keep], vecs[keep]
        self.index = self._new(exact)
        self.tombstones = set()
        if len(ids):
            self.index.add_with_ids(vecs, ids)

    def search(self, query: Any, k: int, allowed: Any | None = None) -> tuple[list[int], list[float]]:
        """Top ``k`` (vkey, cosine) for one query vector. ``allowed``: array of vkeys the caller may see, or None
        for no restriction."""
        import numpy as np

        faiss = _faiss()
        if self.index.ntotal == 0 or k <= 0:
            return [], []
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        sel = None
        if allowed is not None:
            allowed = np.asarray(allowed, dtype=np.int64)
            if self.tombstones:
                allowed = np.setdiff1d(allowed, np.fromiter(self.tombstones, dtype=np.int64))
            if len(allowed) == 0:
                return [], []
            sel = faiss.IDSelectorBatch(allowed)
        elif self.tombstones:
            sel = faiss.IDSelectorNot(faiss.IDSelectorBatch(np.fromiter(self.tombstones, dtype=np.int64)))
        if sel is not None:
            params = faiss.SearchParametersHNSW(sel=sel, efSearch=max(128, k)) if not self.is_exact else \
                faiss.SearchParameters(sel=sel)
            dist, ids = self.index.search(q, k, params=params)
        else:
            if not self.is_exact:
                faiss.downcast_index(self.index.index).hnsw.efSearch = max(128, k)
            dist, ids = self.index.search(q, k)
        keys = [int(i) for i in ids[0] if i >= 0]
        return keys, [float(d) for d, i in zip(dist[0], ids[0]) if i >= 0]

    def keys(self) -> list[int]:
        """Every live vector key (removed ones excluded)."""
        n = self.index.ntotal
        ids = _faiss().vector_to_array(self.index.id_map).tolist() if n else []
        return [i for i in ids if i not in self.tombstones] if self.tombstones else ids

    def get(self, keys: list[int]) -> Any:
        """The stored vectors of ``keys`` (rows in the same order)."""
        import numpy as np

        if not keys:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([self.index.reconstruct(int(k)) for k in keys]).astype(np.float32)

    def save(self) -> None:
        import numpy as np

        faiss = _faiss()
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self.path / f".index.faiss.{os.getpid()}.tmp"
        faiss.write_index(self.index, str(tmp))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        ts = self.path / "tombstones.npy"
        if self.tombstones:
            tts = self.path / f".tombstones.{os.getpid()}.npy"
            np.save(tts, np.fromiter(self.tombstones, dtype=np.int64))
            os.replace(tts, ts)
        elif ts.exists():
            ts.unlink()
        os.replace(tmp, self.file)
