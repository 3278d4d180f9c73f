"""Indexing on a Ray cluster, composed: ``[cluster] address`` (or ``spyglass index --cluster ADDRESS``) sends
extraction (:mod:`spyglass.extraction.ray_pool`, chosen by the indexer) and passage embedding
(:mod:`spyglass.models.ray_embedder`, chosen here) to the cluster; this process stays the single writer. Searching
never goes to the cluster: queries are embedded by the local model (the same model, checked by ``model_id``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from spyglass.core.config import Config


def index_embedder(config: Config, local: Callable[[], Any]) -> Any:
    """The embedder an index run's embedding pass uses: the cluster's when a cluster is configured and the model is
    a local file (an ``[embedding] endpoint`` is already a service of its own), else ``local()``."""
    if not config.cluster.address or config.embedding.endpoint:
        return local()
    from spyglass.models.ray_embedder import RayEmbedder

    return RayEmbedder(config.embedding, config.cluster)
