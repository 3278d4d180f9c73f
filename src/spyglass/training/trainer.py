"""Training a :class:`~spyglass.training.bert.HeadModel` on (question, text) pairs on a few CPU cores.

A :class:`~spyglass.training.bert.HeadModel` reads the frozen packaged MiniLM (int8): its last hidden states of every
pair are computed once (:func:`cache_states`, float16) and each epoch then runs only the head's new layers. An
:class:`~spyglass.training.bert.Encoder` (``full``) is all of MiniLM but its word embeddings, trained on token batches
(:func:`token_inputs`). Loss per batch (Devlin et al.,
2019, §4.2 for the span part):

    L = BCE(σ(r), y) + λ · ½ [CE(start, s*) + CE(end, e*)] + μ · mean_q −log Σ_{i ∈ pos(q)} softmax(0, r_q)_i

where (s*, e*) is the answer's first and last token (pairs without an answer add no span loss, or, with
``null_span``, point it at [CLS], Devlin et al.'s SQuAD 2.0 recipe). The last term (``listwise`` = μ > 0) makes the
pairs of one question compete: a softmax over a fixed "no answer" logit 0 and the relevance logits ``r_q`` of the
question's pairs, whose target is its positive pairs, or "no answer" when it has none (Clark and Gardner, 2018, shared
normalisation; with one pair it is the BCE term again). Batches then hold whole questions (``Encoded.group``).

AdamW (``lr`` for the transformer layers, ``head_lr`` for the new linear heads) with a linear warm-up over the first
``warmup`` share of the steps, then linear decay to zero. Batches hold pairs of similar length (little padding) and
are shuffled with a fixed seed.
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np
import torch
from torch import nn



@dataclass
class TrainSettings:
    max_length: int = 96  # tokens of question + sentence (passages: more)
    layers: int = 1  # transformer layers trained over the frozen MiniLM (copies of its top layers at first)
    epochs: int = 4
    batch_size: int = 32
    lr: float = 1e-4  # the trained transformer layers
    head_lr: float = 1e-3  # the new heads
    warmup: float = 0.1
    weight_decay: float = 0.01
    span_weight: float = 1.0  # λ; 0 trains the relevance head alone (the reranker)
    null_span: bool = False  # a pair without the answer points its span at [CLS] (SQuAD 2.0 style "no answer")
    listwise: float = 0.0  # μ: weight of the per-question softmax over "no answer" and the question's pairs
    full: bool = False  # fine-tune all of MiniLM (word embeddings frozen) instead of a head over its frozen states
    context: str = "sentence"  # what the answer reader reads after the question: "sentence" or the whole "passage"
    seed: int = 13
    threads: int = 2

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Encoded:
    ids: np.ndarray
    types: np.ndarray
    label: float
    start: int  # answer's first and last token (-1: none)
    end: int
    group: int = -1  # the question (or query) the pair belongs to: what the listwise loss compares

    @property
    def type_ids(self) -> np.ndarray:  # what PairEncoder.states reads of an encoding
        return self.types


def encode(pairs_encoder: Any, pairs: list[tuple[str, str, int, tuple[int, int] | None]], null_span: bool = False
           ) -> list[Encoded]:
    """``pairs``: (question, text, label, span in text or None), encoded by a
    :class:`~spyglass.models.answerer.PairEncoder`. ``null_span``: pairs without an answer get the span (0, 0), the
    [CLS] token."""
    encs = pairs_encoder.encode([(q, t) for q, t, _, _ in pairs])
    out = []
    for (_, _, y, span), e in zip(pairs, encs):
        s = t = -1
        if span is not None:
            toks = [i for i, (sq, (a, b)) in enumerate(zip(e.sequence_ids, e.offsets))
                    if sq == 1 and b > span[0] and a < span[1]]
            if toks:
                s, t = toks[0], toks[-1]
        elif null_span and not y:
            s = t = 0
        out.append(Encoded(np.asarray(e.ids, dtype=np.int64), np.asarray(e.type_ids, dtype=np.int64), float(y), s, t))
    return out


def _pad(rows: list[np.ndarray], width: int, dtype: Any) -> np.ndarray:
    out = np.zeros((len(rows), width) + rows[0].shape[1:], dtype=dtype)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


def batches(examples: list[Encoded], size: int, rng: random.Random | None, whole: bool = False
            ) -> list[list[int]]:
    """Index batches of similar length; shuffled (batch order and ties) when ``rng`` is given. ``whole``: a question's
    pairs (``Encoded.group``) are never split between batches (a batch then holds about ``size`` pairs)."""
    if whole:
        return _group_batches(examples, size, rng)
    order = list(range(len(examples)))
    if rng is not None:
        rng.shuffle(order)
    order.sort(key=lambda i: len(examples[i].ids))
    out = [order[b : b + size] for b in range(0, len(order), size)]
    if rng is not None:
        rng.shuffle(out)
    return out


def _group_batches(examples: list[Encoded], size: int, rng: random.Random | None) -> list[list[int]]:
    groups: dict[int, list[int]] = {}
    for i, e in enumerate(examples):
        groups.setdefault(e.group if e.group >= 0 else -1 - i, []).append(i)
    order = list(groups.values())
    if rng is not None:
        rng.shuffle(order)
    order.sort(key=lambda g: max(len(examples[i].ids) for i in g))
    out: list[list[int]] = []
    for g in order:
        if out and len(out[-1]) + len(g) <= size:
            out[-1] += g
        else:
            out.append(list(g))
    if rng is not None:
        rng.shuffle(out)
    return out


def listwise_loss(rel: torch.Tensor, y: torch.Tensor, group: torch.Tensor) -> torch.Tensor:
    """Mean over the batch's questions of −log (the softmax mass of their positive pairs among "no answer" (logit 0)
    and all their pairs), or −log P(no answer) for a question without a positive pair."""
    losses = []
    for g in torch.unique(group):
        at = group == g
        z = torch.cat([torch.zeros(1), rel[at]])
        pos = torch.cat([torch.tensor([not bool((y[at] > 0).any())]), y[at] > 0])
        losses.append(torch.logsumexp(z, 0) - torch.logsumexp(z[pos], 0))
    return torch.stack(losses).mean()


def cache_states(pairs_encoder: Any, encs: list[Any], batch_size: int = 32,
                 progress: Callable[[int, int], None] | None = None) -> list[np.ndarray]:
    """The frozen MiniLM's last hidden states of every encoded pair (float16, one (tokens, dim) array each), batched
    by length."""
    out: list[np.ndarray | None] = [None] * len(encs)
    order = sorted(range(len(encs)), key=lambda i: len(encs[i].ids))
    for b in range(0, len(order), batch_size):
        idx = order[b : b + batch_size]
        hidden, _ = pairs_encoder.states([encs[i] for i in idx])
        for j, i in enumerate(idx):
            out[i] = hidden[j, : len(encs[i].ids)].astype(np.float16)
        if progress:
            progress(b + len(idx), len(encs))
    return [x for x in out if x is not None]


def _batch(cached: list[np.ndarray], idx: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    n = max(len(cached[i]) for i in idx)
    h = torch.from_numpy(_pad([cached[i] for i in idx], n, np.float16)).float()
    mask = torch.from_numpy(_pad([np.ones(len(cached[i]), np.int64) for i in idx], n, np.int64))
    return h, mask


def token_inputs(examples: list[Encoded], words: torch.Tensor) -> Callable[[list[int]], tuple[torch.Tensor, ...]]:
    """What :class:`~spyglass.training.bert.Encoder` reads of a batch: the frozen word embeddings of its tokens, the
    attention mask and the token types."""
    def inputs(idx: list[int]) -> tuple[torch.Tensor, ...]:
        n = max(len(examples[i].ids) for i in idx)
        ids = torch.from_numpy(_pad([examples[i].ids for i in idx], n, np.int64))
        mask = torch.from_numpy(_pad([np.ones(len(examples[i].ids), np.int64) for i in idx], n, np.int64))
        types = torch.from_numpy(_pad([examples[i].types for i in idx], n, np.int64))
        return words[ids], mask, types

    return inputs


def loss_of(rel: torch.Tensor, start: torch.Tensor, end: torch.Tensor, y: torch.Tensor, s: torch.Tensor,
            e: torch.Tensor, span_weight: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(relevance loss, span loss)."""
    loss = nn.functional.binary_cross_entropy_with_logits(rel, y)
    has = s >= 0
    span = torch.zeros(())
    if span_weight > 0 and bool(has.any()):
        ce = nn.functional.cross_entropy
        span = 0.5 * (ce(start[has], s[has]) + ce(end[has], e[has]))
    return loss, span


def train(model: nn.Module, examples: list[Encoded], inputs: list[np.ndarray] | Callable[[list[int]], tuple],
          s: TrainSettings, log: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Train in place; ``inputs``: the cached states of a :class:`HeadModel`'s pairs, or a function giving the model's
    inputs for a batch of example indices (:func:`token_inputs`). Returns the loss curve and the time it took."""
    torch.manual_seed(s.seed)
    torch.set_num_threads(s.threads)
    rng = random.Random(s.seed)
    batch_of = inputs if callable(inputs) else (lambda idx: _batch(inputs, idx))
    params = [p for p in model.parameters() if p.requires_grad]
    head = getattr(model, "head", model)
    heads = {id(p) for p in [*head.span.parameters(), *head.rel.parameters()]}
    groups = []
    for is_head, lr in ((False, s.lr), (True, s.head_lr)):
        mine = [p for p in params if (id(p) in heads) == is_head]
        groups += [{"params": [p for p in mine if p.ndim > 1], "weight_decay": s.weight_decay, "lr": lr},
                   {"params": [p for p in mine if p.ndim <= 1], "weight_decay": 0.0, "lr": lr}]
    opt = torch.optim.AdamW([g for g in groups if g["params"]])
    # every epoch's batches, drawn up front: the schedule needs their number (whole-question batches vary with order)
    plan = [batches(examples, s.batch_size, rng, whole=s.listwise > 0) for _ in range(s.epochs)]
    total = sum(len(p) for p in plan)
    warm = max(1, int(s.warmup * total))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: min((step + 1) / warm, max(0.0, (total - step) / max(1, total - warm))))
    curve: list[list[float]] = []  # [relevance, span] loss every 50 batches
    step = 0
    t1 = time.perf_counter()
    for epoch in range(s.epochs):
        model.train()
        running = running_span = 0.0
        n_batches = len(plan[epoch])
        for b, idx in enumerate(plan[epoch]):
            y = torch.tensor([examples[i].label for i in idx])
            st = torch.tensor([examples[i].start for i in idx])
            en = torch.tensor([examples[i].end for i in idx])
            rel, start, end = model(*batch_of(idx))
            rel_loss, span_loss = loss_of(rel, start, end, y, st, en, s.span_weight)
            loss = rel_loss + s.span_weight * span_loss
            if s.listwise > 0:
                loss = loss + s.listwise * listwise_loss(rel, y, torch.tensor([examples[i].group for i in idx]))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            step += 1
            running += float(rel_loss.detach())
            running_span += float(span_loss.detach())
            if (b + 1) % 50 == 0 or b + 1 == n_batches:
                k = (b % 50) + 1
                curve.append([round(running / k, 4), round(running_span / k, 4)])
                log(f"epoch {epoch + 1}/{s.epochs} batch {b + 1}/{n_batches} loss: relevance {running / k:.4f} "
                    f"span {running_span / k:.4f} ({time.perf_counter() - t1:.0f}s)")
                running = running_span = 0.0
    model.eval()
    return {"steps": step, "loss_curve": curve, "train_seconds": round(time.perf_counter() - t1, 1),
            "pairs": len(examples), "tokens": int(sum(len(x.ids) for x in examples))}
