"""Training pairs for the reranker: (query, passage, relevant?) from training judgements only.

- SciFact *train* qrels (``beir/scifact/qrels/train.tsv``; its test qrels are what the reranker is measured on);
- SQuAD 2.0 *tune* half (``evaluation.qa.split_of``): an answerable question → the paragraph it was asked about.
  Paragraphs that XQuAD also holds (it was translated from the same SQuAD articles, and XQuAD en/de/zh are in the
  retrieval suite) are left out, with their questions.

Passages are shown as ``ask`` and search show them: ``# title`` then the text (:func:`spyglass.evaluation.beir.
materialize`). Negatives are the highest-scoring non-relevant passages of a plain BM25 over the same collection
(Robertson & Zaragoza, 2009; k₁ = 1.2, b = 0.75), the kind of near miss a first stage puts in the top 20:

    BM25(q, d) = Σ_{t ∈ q} idf(t) · tf(t, d)·(k₁ + 1) / (tf(t, d) + k₁·(1 − b + b·|d|/avgdl)),
    idf(t) = ln(1 + (N − df(t) + 0.5) / (df(t) + 0.5))
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from spyglass.core.terms import content_terms
from spyglass.evaluation.qa import split_of


@dataclass(slots=True)
class RankPair:
    qid: str
    query: str
    passage: str
    label: int


class BM25:
    def __init__(self, docs: list[str], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.tf = [Counter(content_terms(d)) for d in docs]
        self.len = [sum(c.values()) for c in self.tf]
        self.avg = sum(self.len) / max(1, len(self.len))
        df: Counter[str] = Counter()
        for c in self.tf:
            df.update(c.keys())
        n = len(docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self.post: dict[str, list[int]] = defaultdict(list)
        for i, c in enumerate(self.tf):
            for t in c:
                self.post[t].append(i)

    def top(self, query: str, k: int) -> list[int]:
        scores: dict[int, float] = defaultdict(float)
        for t in set(content_terms(query)):
            for i in self.post.get(t, ()):
                f = self.tf[i][t]
                scores[i] += self.idf[t] * f * (self.k1 + 1) / (f + self.k1 * (1 - self.b + self.b * self.len[i] / self.avg))
        return [i for i, _ in sorted(scores.items(), key=lambda x: (-x[1], x[0]))[:k]]


def passage(title: str, text: str) -> str:
    title = title.strip()
    return f"# {title}\n\n{text}" if title else text


def _pairs(queries: dict[str, str], rel: dict[str, set[int]], docs: list[str], negatives: int, depth: int,
           rng: random.Random) -> list[RankPair]:
    index = BM25(docs)
    out: list[RankPair] = []
    for qid, q in queries.items():
        pos = sorted(rel[qid])
        near = [i for i in index.top(q, depth) if i not in rel[qid]]
        neg = near[:negatives] if len(near) >= negatives else near + rng.sample(range(len(docs)), negatives - len(near))
        out += [RankPair(qid, q, docs[i], 1) for i in pos] + [RankPair(qid, q, docs[i], 0) for i in neg]
    return out


def scifact_pairs(folder: Path, negatives: int = 3, depth: int = 20, limit: int | None = None, seed: int = 13
                  ) -> list[RankPair]:
    docs: list[str] = []
    row: dict[str, int] = {}
    with open(folder / "corpus.jsonl") as fh:
        for line in fh:
            d = json.loads(line)
            row[str(d["_id"])] = len(docs)
            docs.append(passage(d.get("title") or "", d.get("text") or ""))
    queries = {}
    with open(folder / "queries.jsonl") as fh:
        for line in fh:
            q = json.loads(line)
            queries[str(q["_id"])] = q["text"]
    rel: dict[str, set[int]] = defaultdict(set)
    with open(folder / "qrels" / "train.tsv") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) >= 3 and parts[0] != "query-id" and parts[1] in row and float(parts[2]) > 0:
                rel[parts[0]].add(row[parts[1]])
    chosen = {q: queries[q] for q in sorted(rel, key=lambda x: (len(x), x)) if q in queries}
    if limit is not None:
        chosen = dict(list(chosen.items())[:limit])
    return _pairs(chosen, rel, docs, negatives, depth, random.Random(seed))


def squad_pairs(squad_json: Path, exclude_contexts: set[str] = frozenset(), negatives: int = 3, depth: int = 20,
                limit: int | None = None, seed: int = 13) -> list[RankPair]:
    data = json.loads(Path(squad_json).read_text())["data"]
    docs: list[str] = []
    queries: dict[str, str] = {}
    rel: dict[str, set[int]] = defaultdict(set)
    for art in data:
        title = art["title"].replace("_", " ")
        for para in art["paragraphs"]:
            i = len(docs)
            docs.append(passage(title, para["context"]))
            if para["context"].strip()[:100] in exclude_contexts:
                continue
            for qa in para["qas"]:
                if qa.get("is_impossible") or split_of(qa["id"]) != "tune":
                    continue
                queries[qa["id"]] = qa["question"]
                rel[qa["id"]].add(i)
    rng = random.Random(seed)
    keys = sorted(queries)
    rng.shuffle(keys)
    if limit is not None:
        keys = keys[:limit]
    return _pairs({k: queries[k] for k in keys}, rel, docs, negatives, depth, rng)


def xquad_contexts(retrieval_dev: Path) -> set[str]:
    """The first 100 characters of every XQuAD (English) paragraph: SQuAD paragraphs to keep out of training."""
    path = retrieval_dev / "xquad-en" / "corpus.jsonl"
    if not path.is_file():
        return set()
    with open(path) as fh:
        return {json.loads(line)["text"].strip()[:100] for line in fh}
