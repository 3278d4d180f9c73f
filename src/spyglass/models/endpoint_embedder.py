"""Embeddings from an OpenAI-compatible endpoint (``POST {url}`` with ``{"model", "input"}``), e.g. Ollama, vLLM,
llama.cpp's server or a hosted API. Vectors are L2-normalised here, whatever the server returns."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any

from spyglass.core.errors import SpyglassError


class EndpointEmbedder:
    def __init__(self, url: str, model: str, api_key_env: str = "", batch_size: int = 64, timeout: float = 60) -> None:
        self.url = url
        self.model = model
        self.api_key = os.environ.get(api_key_env, "") if api_key_env else ""
        self.batch_size = batch_size
        self.timeout = timeout
        self._dim: int | None = None

    @property
    def model_id(self) -> str:
        return f"endpoint:{self.url}|{self.model}"

    def warm_up(self) -> None:
        if self._dim is None:
            self._dim = int(self.embed(["dimension probe"]).shape[1])

    @property
    def dim(self) -> int:
        self.warm_up()
        assert self._dim is not None
        return self._dim

    def _post(self, texts: list[str]) -> list[list[float]]:
        body = json.dumps({"model": self.model, "input": texts}).encode()
        req = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        if self.api_key:
            req.add_header("Authorization", f"Bearer {self.api_key}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                data = json.loads(resp.read())
        except (urllib.error.URLError, TimeoutError, json.JSONDecodeError) as exc:
            raise SpyglassError(f"embedding endpoint {self.url} failed: {exc}") from exc
        try:
            items = sorted(data["data"], key=lambda d: d.get("index", 0))
            return [d["embedding"] for d in items]
        except (KeyError, TypeError) as exc:
            raise SpyglassError(f"embedding endpoint {self.url} returned an unexpected body") from exc

    def embed(self, texts: list[str]) -> Any:
        import numpy as np

        out = []
        for i in range(0, len(texts), self.batch_size):
            out.extend(self._post(texts[i : i + self.batch_size]))
        v = np.asarray(out, dtype=np.float32).reshape(len(texts), -1)
        v /= np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
        return v
