"""Passage embeddings on a Ray cluster: an embedder with the local one's interface (``model_id``, ``dim``,
``embed(texts)``) whose batches run as Ray tasks on the cluster's workers; the vectors come back to the writer, which
stores them exactly as a local pass does.

``embed(texts)`` splits a batch into ``workers`` contiguous slices of at most ``[cluster] embed_batch`` passages, runs
one task per slice and joins the vectors in the batch's order. Each task embeds with the same
:class:`~spyglass.models.embedder.OnnxEmbedder` (the packaged model, checked by size and SHA-256 on the worker as
locally, or the configured file), loaded once per Ray worker process. A task asks for one CPU, or for
``[cluster] embed_gpus`` GPUs, in which case onnxruntime runs on CUDA when the worker's onnxruntime build has it
(``onnxruntime-gpu``) and on its CPU otherwise. Every worker checks that its model is the writer's
(``model_id``): an index never mixes two models.

``pass_batch`` (``workers × embed_batch``) tells the embedding pass how many passages to hand over at once, so that
every worker has a slice. A worker that dies is re-run by Ray (``max_retries``); one that keeps dying stops the pass
with an error, and the queue resumes at the next run — nothing is lost.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

from spyglass.core.cluster import connect, cpus, is_worker_failure
from spyglass.core.config import ClusterSettings, EmbeddingSettings
from spyglass.core.errors import SpyglassError
from spyglass.models.embedder import OnnxEmbedder

_MODELS: dict[str, OnnxEmbedder] = {}  # per Ray worker process


def _device(gpus: float, precision: str) -> str:
    """``cuda`` on a worker given a GPU whose onnxruntime has the CUDA provider (fp32 only), else ``cpu``."""
    if gpus <= 0 or precision != "fp32":
        return "cpu"
    import onnxruntime as ort

    return "cuda" if "CUDAExecutionProvider" in ort.get_available_providers() else "cpu"


def _make(settings: EmbeddingSettings, threads: int, gpus: float) -> OnnxEmbedder:
    return OnnxEmbedder(settings.model, settings.tokenizer or None, max_length=settings.max_length,
                        batch_size=settings.batch_size, threads=threads, batch_tokens=settings.batch_tokens,
                        precision=settings.precision, device=_device(gpus, settings.precision))


def embed_slice(texts: list[str], settings: str, model_id: str, gpus: float) -> Any:
    """Runs on a Ray worker: unit vectors for ``texts`` from this process's copy of the model."""
    emb = _MODELS.get(settings)
    if emb is None:
        emb = _MODELS[settings] = _make(EmbeddingSettings(**json.loads(settings)), 1, gpus)
    if emb.model_id != model_id:
        raise SpyglassError(f"a cluster worker has another embedding model ({emb.model_id}) than the writer "
                            f"({model_id}): install the same spyglass and model packages on every node")
    return emb.embed(texts)


def model_dim(settings: str) -> int:
    """Runs on a Ray worker: the model's output dimension (for a model file whose dimension is not recorded)."""
    return _make(EmbeddingSettings(**json.loads(settings)), 1, 0.0).dim


class RayEmbedder:
    """The embedder interface over a Ray cluster (see the module's docstring)."""

    def __init__(self, settings: EmbeddingSettings, cluster: ClusterSettings) -> None:
        self.settings = settings
        self.cluster = cluster
        self._json = json.dumps(dataclasses.asdict(settings), sort_keys=True)
        self._local = _make(settings, 1, 0.0)  # names the model; never loaded here
        self._ray: Any = None
        self._remote: Any = None
        self._workers = 0
        self._dim = 0
        self.stats = {"tasks": 0, "passages": 0}

    @property
    def model_id(self) -> str:
        return self._local.model_id

    @property
    def dim(self) -> int:
        if not self._dim:
            self._local.model_id  # noqa: B018 - resolves (and checks) the model files
            assert self._local.files is not None
            self._dim = self._local.files.dim
            if not self._dim:
                ray = self._connect()
                self._dim = int(ray.get(ray.remote(model_dim).options(num_cpus=1).remote(self._json)))
        return self._dim

    @property
    def workers(self) -> int:
        """Slices per batch: ``[cluster] workers``, else one per CPU (or per ``embed_gpus`` share of the GPUs)."""
        if not self._workers:
            ray = self._connect()
            if self.cluster.workers:
                self._workers = self.cluster.workers
            elif self.cluster.embed_gpus > 0:
                gpus = ray.cluster_resources().get("GPU", 0)
                self._workers = max(1, int(gpus / self.cluster.embed_gpus)) if gpus else cpus(ray)
            else:
                self._workers = cpus(ray)
        return self._workers

    @property
    def pass_batch(self) -> int:
        """Passages the embedding pass should hand over at once (every worker gets a slice)."""
        return self.workers * self.cluster.embed_batch

    def warm_up(self) -> None:
        self._connect()

    def embed(self, texts: list[str]) -> Any:
        """Unit vectors, float32, shape (len(texts), dim), in the order of ``texts``."""
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        ray = self._connect()
        parts = min(self.workers, max(1, len(texts) // 8))  # slices of 8 passages or more
        size = math.ceil(len(texts) / parts)
        slices = [texts[i:i + size] for i in range(0, len(texts), size)]
        refs = [self._remote.remote(s, self._json, self.model_id, self.cluster.embed_gpus) for s in slices]
        self.stats["tasks"] += len(refs)
        self.stats["passages"] += len(texts)
        try:
            out = ray.get(refs)
        except Exception as exc:
            if is_worker_failure(ray, exc):
                raise SpyglassError(f"embedding on the cluster failed after {self.cluster.max_retries} retries "
                                    f"({type(exc).__name__}); run `spyglass index` again to resume") from exc
            cause = getattr(exc, "cause", None)
            raise SpyglassError(f"embedding on the cluster failed: {cause or exc}") from exc
        return np.vstack(out).astype(np.float32, copy=False)

    def _connect(self) -> Any:
        if self._ray is None:
            ray = connect(self.cluster.address)
            opts: dict[str, Any] = {"num_cpus": 1, "max_retries": self.cluster.max_retries, "retry_exceptions": False,
                                    "name": "spyglass_embed"}
            if self.cluster.embed_gpus > 0:
                opts["num_gpus"] = self.cluster.embed_gpus
            self._remote = ray.remote(embed_slice).options(**opts)
            self._ray = ray
        return self._ray


__all__ = ["RayEmbedder", "embed_slice"]
