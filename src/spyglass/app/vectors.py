"""Vectors after the keyword index, composed: passage embeddings (by value, :mod:`spyglass.index.embedding`), then
image vectors when a text–image model is configured. Used in-process (``spyglass index --wait``, ``watch``) and by the
background embedder (:mod:`spyglass.app.background`)."""

from __future__ import annotations

from typing import Any

from spyglass.core.errors import MissingExtraError, SpyglassError
from spyglass.core.progress import Progress
from spyglass.index.store import DataDir


def sync_all(parts: Any, data: DataDir, progress: Progress | None = None, **kw: Any
             ) -> tuple[dict[str, Any], dict[str, Any]]:
    """(passages, images) — what each pass did. A missing runtime or a wrong model path is reported, never fatal:
    keyword search works. ``kw`` (deadline, should_stop, on_checkpoint, promote) goes to the passage pass."""
    from spyglass.index.embedding import sync_vectors

    config = parts.config
    semantic: dict[str, Any] = {}
    images: dict[str, Any] = {}
    if config.embedding.enabled:
        try:
            semantic = sync_vectors(data, parts.embedder(), config.embedding, progress, **kw)
        except MissingExtraError as exc:
            semantic = {"unavailable": str(exc)}
    if config.media.clip_image_model and semantic.get("finished", True):
        try:
            images = sync_images(parts, data, progress)
        except SpyglassError as exc:
            images = {"unavailable": str(exc)}
    return semantic, images


def sync_images(parts: Any, data: DataDir, progress: Progress | None = None) -> dict[str, Any]:
    """One vector per image file from the text–image slot (``[media] clip_*``), for photo search by description."""
    from spyglass.index.image_vectors import sync_image_vectors

    clip = parts.clip()
    if clip is None:
        raise SpyglassError("no text-image model: set [media] clip_image_model and clip_text_model")
    return sync_image_vectors(data, clip, progress)


def pending(data: DataDir, config: Any) -> bool:
    """Whether the background embedder has work: passages waiting for vectors, or images when a text–image model
    is configured (its pass finds what is new)."""
    return bool(config.embedding.enabled and data.catalog.emb_pending()[1]) or bool(config.media.clip_image_model)
