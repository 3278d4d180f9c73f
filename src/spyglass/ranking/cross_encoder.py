"""A cross-encoder slot: any ONNX model that scores a (query, passage) pair encoded as one BERT input
(``[CLS] query [SEP] passage [SEP]``, ``token_type_ids`` 0 then 1) and outputs one logit per pair (shape ``(batch,)``
or ``(batch, 1)``; for two logits the last is taken). No cross-encoder ships in a package (MODELS.md); point
``[rerank] cross_encoder`` at e.g. an ONNX export of ``cross-encoder/ms-marco-MiniLM-L6-v2`` and its tokenizer.json.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spyglass.core.errors import MissingExtraError, SpyglassError


class CrossEncoder:
    def __init__(self, model: str, tokenizer: str = "", max_length: int = 512, batch_size: int = 16,
                 threads: int = 0) -> None:
        self.model = Path(model).expanduser()
        self.tokenizer = Path(tokenizer).expanduser() if tokenizer else self.model.with_name("tokenizer.json")
        self.max_length = max_length
        self.batch_size = batch_size
        self.threads = threads
        self._session: Any = None
        self._tok: Any = None

    def warm_up(self) -> None:
        if self._session is not None:
            return
        if not self.model.is_file() or not self.tokenizer.is_file():
            raise SpyglassError(f"cross-encoder {self.model} or tokenizer {self.tokenizer} not found "
                                "(settings [rerank] cross_encoder, cross_encoder_tokenizer)")
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise MissingExtraError("the cross-encoder", "semantic", exc.name or "onnxruntime") from exc
        opts = ort.SessionOptions()
        if self.threads:
            opts.intra_op_num_threads = self.threads
        self._session = ort.InferenceSession(str(self.model), opts, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        tok = Tokenizer.from_file(str(self.tokenizer))
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
            logits = np.asarray(self._session.run(None, feeds)[0], dtype=np.float32)
            if logits.ndim == 2:
                logits = logits[:, -1]
            out.extend(float(x) for x in logits.reshape(-1))
        return out
