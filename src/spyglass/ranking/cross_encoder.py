"""A cross-encoder slot: any ONNX model that scores a (query, passage) pair encoded as one BERT input
(``[CLS] query [SEP] passage [SEP]``, ``token_type_ids`` 0 then 1) and outputs one logit per pair (shape ``(batch,)``
or ``(batch, 1)``; for two logits the last is taken; with several outputs the first).

``[rerank] cross_encoder = "spyglass-reranker-minilm"`` names the reranker Spyglass trains itself
(``spyglass train reranker``; shipped inside the package, checked against its pinned size and SHA-256 on load, with
all-MiniLM-L6-v2's tokenizer); any other value is a path, e.g. an ONNX export of
``cross-encoder/ms-marco-MiniLM-L6-v2`` with its tokenizer.json beside it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spyglass.core.errors import MissingExtraError, SpyglassError


class CrossEncoder:
    def __init__(self, model: str, tokenizer: str = "", max_length: int = 512, batch_size: int = 16,
                 threads: int = 0) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.batch_size = batch_size
        self.threads = threads
        self._session: Any = None
        self._tok: Any = None

    def warm_up(self) -> None:
        if self._session is not None:
            return
        from spyglass.models.answerer import PACKAGED_RERANKER, default_tokenizer, resolve

        if self.model == PACKAGED_RERANKER:
            model = resolve(self.model, PACKAGED_RERANKER)
            tok_path = Path(self.tokenizer).expanduser() if self.tokenizer else default_tokenizer()
        else:
            model = Path(self.model).expanduser()
            tok_path = Path(self.tokenizer).expanduser() if self.tokenizer else model.with_name("tokenizer.json")
        if not model.is_file() or not tok_path.is_file():
            raise SpyglassError(f"cross-encoder {model} or tokenizer {tok_path} not found "
                                "(settings [rerank] cross_encoder, cross_encoder_tokenizer)")
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise MissingExtraError("the cross-encoder", "semantic", exc.name or "onnxruntime") from exc
        opts = ort.SessionOptions()
        if self.threads:
            opts.intra_op_num_threads = self.threads
        self._session = ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._output = self._session.get_outputs()[0].name
        tok = Tokenizer.from_file(str(tok_path))
        tok.enable_truncation(max_length=self.max_length)
        tok.no_padding()
        self._tok = tok

    def score(self, query: str, passages: list[str]) -> list[float]:
        import numpy as np

        self.warm_up()
        out: list[float] = []
        for b in range(0, len(passages), self.batch_size):
            encs = self._tok.encode_batch([(query, p) for p in passages[b : b + self.batch_size]])
            n = max(len(e.ids) for e in encs)
            ids = np.zeros((len(encs), n), dtype=np.int64)
            mask = np.zeros_like(ids)
            types = np.zeros_like(ids)
            for i, e in enumerate(encs):
                ids[i, : len(e.ids)] = e.ids
                mask[i, : len(e.ids)] = 1
                types[i, : len(e.ids)] = e.type_ids
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._inputs:
                feeds["token_type_ids"] = types
            logits = np.asarray(self._session.run([self._output], feeds)[0], dtype=np.float32)
            if logits.ndim == 2:
                logits = logits[:, -1]
            out.extend(float(x) for x in logits.reshape(-1))
        return out
