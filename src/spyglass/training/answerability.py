"""The answerability model: a small network over the features of :mod:`spyglass.models.answer_features`,

    p(s) = σ(w₂ · GELU(W₁ · (x(s) − μ) / σ_x + b₁) + b₂)        (one hidden layer of ``hidden`` units)

trained with binary cross-entropy on (question, sentence) pairs labelled "holds a gold answer", and exported to ONNX
(input ``features``, float32 batch × 20; output ``logit``, batch) with the standardisation folded into W₁.
At run time ``p* = max_s p(s)`` over the candidate sentences decides refusal, and the argmax is the quoted sentence.
"""

from __future__ import annotations

import random
import warnings
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from spyglass.models.answer_features import N_FEATURES, features


@dataclass
class FeatureSettings:
    hidden: int = 32
    epochs: int = 40
    lr: float = 3e-3
    weight_decay: float = 1e-3
    batch_size: int = 128
    seed: int = 13

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def pair_features(pairs: list[Any], embedder: Any) -> np.ndarray:
    """Features of every pair, computed per question over that question's pairs (its candidate set)."""
    texts = sorted({p.text[p.lo :] for p in pairs} | {p.question for p in pairs})
    vecs = embedder.embed(texts)
    row = {t: i for i, t in enumerate(texts)}
    by_q: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(pairs):
        by_q[p.qid].append(i)
    x = np.zeros((len(pairs), N_FEATURES), dtype=np.float32)
    for idx in by_q.values():
        q = pairs[idx[0]].question
        sents = [pairs[i].text[pairs[i].lo :] for i in idx]
        titles = [pairs[i].text[: pairs[i].lo].removesuffix(" | ") for i in idx]
        cos = [float(vecs[row[s]] @ vecs[row[q]]) for s in sents]
        x[idx] = features(q, sents, titles, cos, [pairs[i].prev for i in idx])
    return x


def train_mlp(x: np.ndarray, y: np.ndarray, s: FeatureSettings) -> nn.Module:
    torch.manual_seed(s.seed)
    rng = random.Random(s.seed)
    mu, sd = x.mean(0), x.std(0) + 1e-6
    xt = torch.tensor((x - mu) / sd, dtype=torch.float32)
    yt = torch.tensor(y, dtype=torch.float32)
    net = nn.Sequential(nn.Linear(x.shape[1], s.hidden), nn.GELU(), nn.Dropout(0.1), nn.Linear(s.hidden, 1))
    opt = torch.optim.AdamW(net.parameters(), lr=s.lr, weight_decay=s.weight_decay)
    order = list(range(len(y)))
    for _ in range(s.epochs):
        rng.shuffle(order)
        for b in range(0, len(order), s.batch_size):
            i = torch.tensor(order[b : b + s.batch_size])
            loss = nn.functional.binary_cross_entropy_with_logits(net(xt[i]).squeeze(-1), yt[i])
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()
    with torch.no_grad():  # fold the standardisation into the first layer: the graph takes raw features
        first = net[0]
        w = first.weight / torch.tensor(sd, dtype=torch.float32)
        first.bias -= (w * torch.tensor(mu, dtype=torch.float32)).sum(1)
        first.weight.copy_(w)
    return net


class _Logit(nn.Module):
    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


def export(net: nn.Module, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notices
        torch.onnx.export(_Logit(net).eval(), (torch.zeros(2, N_FEATURES),), str(out), input_names=["features"],
                          output_names=["logit"], dynamic_axes={"features": {0: "batch"}, "logit": {0: "batch"}},
                          opset_version=17, dynamo=False)
    return out
