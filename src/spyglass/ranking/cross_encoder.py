"""A cross-encoder slot: any ONNX model that scores a (query, passage) pair encoded as one BERT input
(``[CLS] query [SEP] passage [SEP]``, ``token_type_ids`` 0 then 1) and outputs one logit per pair (shape ``(batch,)``
or ``(batch, 1)``; for two logits the last is taken; with several outputs the first).

``[rerank] cross_encoder = "spyglass-reranker-minilm"`` names the reranker Spyglass trains itself
(``spyglass train reranker``: all-MiniLM-L6-v2 fine-tuned whole but its word embeddings, which it reads as input
``inputs_embeds`` from the installed base weights; checked against its pinned size and SHA-256 on load); any other
value is a path, to such a file, to a head over the packaged MiniLM's pair states (input ``hidden``,
:class:`spyglass.models.answerer.PairEncoder`; ``train reranker --layers N``) or to a whole cross-encoder, e.g. an
ONNX export of ``cross-encoder/ms-marco-MiniLM-L6-v2`` with its tokenizer.json beside it.
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
        self._pairs: Any = None
        self._words: Any = None  # the base word embeddings, for a graph that reads them as input

    def warm_up(self) -> None:
        if self._session is not None:
            return
        from spyglass.models.answerer import (
            PACKAGED_RERANKER,
            default_tokenizer,
            is_head,
            resolve,
            shared_pair_encoder,
            shared_word_embeddings,
            takes_embeddings,
        )

        model = resolve(self.model, PACKAGED_RERANKER) if self.model == PACKAGED_RERANKER \
            else Path(self.model).expanduser()
        if not model.is_file():
            raise SpyglassError(f"cross-encoder {model} not found (settings [rerank] cross_encoder)")
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise MissingExtraError("the cross-encoder", "semantic", exc.name or "onnxruntime") from exc
        opts = ort.SessionOptions()
        if self.threads:
            opts.intra_op_num_threads = self.threads
        session = ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in session.get_inputs()}
        self._output = session.get_outputs()[0].name
        if is_head(session):  # a head over the packaged MiniLM's pair states (what `spyglass train reranker` makes)
            self._pairs = shared_pair_encoder(min(self.max_length, 256), self.threads)
            self._pairs.warm_up()
        else:
            if takes_embeddings(session):  # all-MiniLM-L6-v2 fine-tuned whole (`spyglass train answerer`'s reader)
                self._words = shared_word_embeddings()
            tok_path = Path(self.tokenizer).expanduser() if self.tokenizer else model.with_name("tokenizer.json")
            if self._words is not None and not tok_path.is_file():
                tok_path = default_tokenizer()
            if not tok_path.is_file():
                raise SpyglassError(f"cross-encoder tokenizer {tok_path} not found "
                                    "(settings [rerank] cross_encoder, cross_encoder_tokenizer)")
            tok = Tokenizer.from_file(str(tok_path))
            tok.enable_truncation(max_length=self.max_length)
            tok.no_padding()
            self._tok = tok
        self._session = session

    def score(self, query: str, passages: list[str]) -> list[float]:
        import numpy as np

        self.warm_up()
        out: list[float] = []
        order = sorted(range(len(passages)), key=lambda i: len(passages[i]))  # similar lengths batched together
        scores = [0.0] * len(passages)
        for b in range(0, len(order), self.batch_size):
            idx = order[b : b + self.batch_size]
            if self._pairs is not None:
                hidden, mask = self._pairs.states(self._pairs.encode([(query, passages[i]) for i in idx]))
                feeds = {"hidden": hidden, "attention_mask": mask}
            else:
                feeds = self._feeds(self._tok.encode_batch([(query, passages[i]) for i in idx]))
            logits = np.asarray(self._session.run([self._output], feeds)[0], dtype=np.float32)
            if logits.ndim == 2:
                logits = logits[:, -1]
            for i, x in zip(idx, logits.reshape(-1)):
                scores[i] = float(x)
        out.extend(scores)
        return out

    def _feeds(self, encs: list[Any]) -> dict[str, Any]:
        from spyglass.models.answerer import batch_arrays

        feeds = batch_arrays(encs, self._words)
        if "token_type_ids" not in self._inputs:
            feeds.pop("token_type_ids")
        return feeds
