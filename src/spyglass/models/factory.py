"""Build the embedder a configuration names (where onnxruntime runs it: :mod:`spyglass.models.devices`)."""

from __future__ import annotations

from typing import Any

from spyglass.core.config import EmbeddingSettings


def make_embedder(s: EmbeddingSettings) -> Any:
    if s.endpoint:
        from spyglass.models.endpoint_embedder import EndpointEmbedder

        return EndpointEmbedder(s.endpoint, s.endpoint_model or "default", s.api_key_env, batch_size=s.batch_size)
    from spyglass.models.embedder import OnnxEmbedder

    return OnnxEmbedder(s.model, s.tokenizer or None, max_length=s.max_length, batch_size=s.batch_size,
                        threads=s.threads, batch_tokens=s.batch_tokens, precision=s.precision, device=s.device,
                        spinning=s.spinning)
