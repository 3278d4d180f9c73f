"""Folder suggestion on SQuAD 2.0's dev paragraphs, with each paragraph's Wikipedia article as its folder.

Paragraphs are split in half by a hash of their text: the ``train`` half is written as files into one folder per
article and indexed through the ordinary pipeline; each ``test`` paragraph is written outside the index and asked
about with ``spyglass where`` (:meth:`Organizer.where`, the code users run). File names carry no label and the text
no title. Baselines on the same split: the majority folder, and TF-IDF with a multinomial logistic regression.
Metrics: top-1 and top-3 accuracy.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

from spyglass.core.config import Config
from spyglass.core.progress import NullProgress, Progress

_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def load_split(squad_json: Path) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """``(train, test)`` lists of ``(paragraph id, folder, text)``."""
    data = json.loads(squad_json.read_text())["data"]
    train, test = [], []
    for a, art in enumerate(data):
        for p, para in enumerate(art["paragraphs"]):
            row = (f"{a}-{p}", art["title"], para["context"])
            h = int(hashlib.md5(para["context"].encode()).hexdigest(), 16)
            (train if h % 2 == 0 else test).append(row)
    return train, test


def _accuracy(ranked: list[list[str]], gold: list[str]) -> dict[str, float]:
    n = max(1, len(gold))
    return {"top1": round(sum(r[:1] == [g] for r, g in zip(ranked, gold)) / n, 4),
            "top3": round(sum(g in r[:3] for r, g in zip(ranked, gold)) / n, 4)}


def majority(train: list[tuple[str, str, str]], test: list[tuple[str, str, str]]) -> list[list[str]]:
    order = [f for f, _ in Counter(f for _, f, _ in train).most_common()]
    return [order[:3] for _ in test]


def tfidf_linear(train: list[tuple[str, str, str]], test: list[tuple[str, str, str]], epochs: int = 300,
                 lr: float = 0.5, l2: float = 1e-4) -> list[list[str]]:
    """TF-IDF (sublinear tf, smooth idf, l2-normalised rows) and a softmax regression by full-batch gradient
    descent — the standard linear text-classification baseline (scikit-learn's defaults, reimplemented in numpy)."""
    import numpy as np

    def toks(t: str) -> list[str]:
        return [w.lower() for w in _WORD.findall(t)]

    vocab: dict[str, int] = {}
    df: Counter = Counter()
    for _, _, t in train:
        df.update(set(toks(t)))
    for w in sorted(df):
        vocab[w] = len(vocab)
    idf = np.array([math.log((1 + len(train)) / (1 + df[w])) + 1 for w in sorted(df)])

    def matrix(rows: list[tuple[str, str, str]]) -> Any:
        x = np.zeros((len(rows), len(vocab)), dtype=np.float32)
        for i, (_, _, t) in enumerate(rows):
            for w, n in Counter(toks(t)).items():
                if w in vocab:
                    x[i, vocab[w]] = 1 + math.log(n)
        x *= idf
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

    classes = sorted({f for _, f, _ in train})
    cidx = {c: i for i, c in enumerate(classes)}
    xtr, xte = matrix(train), matrix(test)
    y = np.zeros((len(train), len(classes)), dtype=np.float32)
    y[np.arange(len(train)), [cidx[f] for _, f, _ in train]] = 1
    w = np.zeros((len(vocab), len(classes)), dtype=np.float32)
    b = np.zeros(len(classes), dtype=np.float32)
    for _ in range(epochs):
        z = xtr @ w + b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        g = (p - y) / len(train)
        w -= lr * (xtr.T @ g * 50 + l2 * w)  # × 50: rows are unit-norm and sparse, so steps are otherwise tiny
        b -= lr * g.sum(axis=0)
    scores = xte @ w + b
    return [[classes[j] for j in np.argsort(-s)[:3]] for s in scores]


def eval_folders(squad_json: Path, cache: Path | None = None, config: Config | None = None,
                 progress: Progress | None = None) -> dict[str, Any]:
    from spyglass.app.organize import open_organizer
    from spyglass.app.spyglass import Spyglass
    from spyglass.core.acl import EVERYTHING
    from spyglass.evaluation.beir import default_cache

    progress = progress or NullProgress()
    train, test = load_split(squad_json)
    root = (cache or default_cache()) / "squad-folders"
    docs, asked = root / "train", root / "test"
    marker = root / ".written"
    if not marker.exists():
        for rows, base, by_folder in ((train, docs, True), (test, asked, False)):
            for pid, folder, text in rows:
                d = base / _safe(folder) if by_folder else base
                d.mkdir(parents=True, exist_ok=True)
                (d / f"p{pid}.txt").write_text(text)
        marker.write_text("ok")
    cfg = config or Config()
    home = root / "home"
    sg = Spyglass(home, config=cfg)
    t0 = time.perf_counter()
    sg.index([str(docs)], progress=progress)
    index_s = time.perf_counter() - t0
    org = open_organizer(sg.parts)
    ranked, lat = [], []
    progress.start("where (test paragraphs)", len(test))
    try:
        for pid, _, _ in test:
            t = time.perf_counter()
            res = org.where(str(asked / f"p{pid}.txt"), EVERYTHING, top=3)
            lat.append((time.perf_counter() - t) * 1000)
            ranked.append([Path(s["folder"]).name for s in res["suggestions"]])
            progress.advance()
    finally:
        progress.stop()
        org.close()
        sg.close()
    gold = [_safe(f) for _, f, _ in test]
    lat.sort()
    out = {
        "dataset": str(squad_json), "folders": len({f for _, f, _ in train}), "train": len(train),
        "test": len(test), "index_seconds": round(index_s, 1),
        "knn": _accuracy(ranked, gold),
        "majority": _accuracy([[_safe(f) for f in r] for r in majority(train, test)], gold),
        "tfidf-linear": _accuracy([[_safe(f) for f in r] for r in tfidf_linear(train, test)], gold),
        "where_ms_p50": round(lat[len(lat) // 2], 1) if lat else None,
    }
    for m in ("knn", "majority", "tfidf-linear"):
        for k, v in out[m].items():
            out[f"{m}_{k}"] = v
    return out


def _safe(folder: str) -> str:
    return re.sub(r"[^\w.-]+", "_", folder)
