"""Question answering over SQuAD 2.0 through the real pipeline: the dev paragraphs are indexed as documents, each
question is asked with ``Spyglass.ask``, and the answer is scored.

Metrics (official SQuAD normalisation: lower-case, no punctuation, no articles, single spaces):

- ``exact_match`` / ``f1``: max over the gold answers; F1 over normalised tokens. An unanswerable question scores 1
  when the answer says the files do not hold it, else 0 (as in the SQuAD 2.0 script).
- ``contains_answer``: answerable questions whose answer text contains a gold answer (fairer to sentence answers).
- ``citation_precision``: cited passages that contain a gold answer, over all cited passages (answerable questions).
- ``refusal_rate_unanswerable`` / ``refusal_rate_answerable``: share answered "not found".
- ``ttft_ms_p50`` / ``total_ms_p50`` / ``total_ms_p95``: time to the first token and to the checked answer.
- with a judge (:mod:`spyglass.evaluation.judge`): ``judge_correct`` — answerable questions whose answer an LLM judge
  grades as the same answer as a reference (a refusal is incorrect) — and ``judge_unparsed``.

Questions are split by a hash of their id: ``tune`` (used to set the extractive weights and thresholds) and ``test``
(reported).
"""

from __future__ import annotations

import collections
import hashlib
import json
import re
import statistics
import string
from pathlib import Path
from typing import Any

from spyglass.core.config import Config
from spyglass.core.progress import NullProgress, Progress


def normalize(s: str) -> str:
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def f1_score(pred: str, gold: str) -> float:
    p, g = normalize(pred).split(), normalize(gold).split()
    common = collections.Counter(p) & collections.Counter(g)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(g)
    return 2 * precision * recall / (precision + recall)


def split_of(qid: str) -> str:
    return "tune" if int(hashlib.md5(qid.encode()).hexdigest(), 16) % 2 == 0 else "test"


def load_questions(squad_json: Path, split: str, max_questions: int) -> list[dict[str, Any]]:
    """Answerable and unanswerable questions in equal numbers (up to ``max_questions`` in all), in file order."""
    data = json.loads(squad_json.read_text())["data"]
    pos: list[dict[str, Any]] = []
    neg: list[dict[str, Any]] = []
    for a, art in enumerate(data):
        for p, para in enumerate(art["paragraphs"]):
            for qa in para["qas"]:
                if split != "all" and split_of(qa["id"]) != split:
                    continue
                item = {"id": qa["id"], "question": qa["question"], "doc": f"{a}-{p}",
                        "answers": sorted({x["text"] for x in qa["answers"]}),
                        "impossible": bool(qa.get("is_impossible"))}
                (neg if item["impossible"] else pos).append(item)
    step_p = max(1, len(pos) // max(1, max_questions // 2))
    step_n = max(1, len(neg) // max(1, max_questions - max_questions // 2))
    chosen = pos[::step_p][: max_questions // 2] + neg[::step_n][: max_questions - max_questions // 2]
    return chosen


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(p * len(xs)))], 1) if xs else 0.0


def eval_squad_qa(squad_json: Path, config: Config | None = None, cache: Path | None = None, split: str = "test",
                  max_questions: int = 200, backend: str | None = None, progress: Progress | None = None,
                  judge: Any = None) -> dict[str, Any]:
    """Index SQuAD's dev paragraphs (cached, the same index as the retrieval evaluation) and run :func:`eval_qa`."""
    from spyglass.evaluation.beir import default_cache, squad_to_beir
    from spyglass.evaluation.runner import build_index

    config = config or Config()
    c = cache or default_cache()
    ds = squad_to_beir(squad_json, c / "squad2-dev-beir")
    home, _, _ = build_index(ds, config, c, progress)
    return eval_qa(squad_json, home, config, split, max_questions, backend, progress, judge)


def eval_qa(squad_json: Path, home: Path, config: Config | None = None, split: str = "test",
            max_questions: int = 200, backend: str | None = None, progress: Progress | None = None,
            judge: Any = None) -> dict[str, Any]:
    """``home`` holds the SQuAD paragraphs indexed as documents (see ``spyglass eval qa``). ``judge``: a chat model
    (``stream(messages)``) that grades each answer against the references."""
    from spyglass.evaluation.judge import judge as grade
    from spyglass.app.spyglass import Spyglass

    sg = Spyglass(home, config=config)
    if backend is not None:
        sg.config.answer.backend = backend
    progress = progress or NullProgress()
    qs = load_questions(squad_json, split, max_questions)
    em: list[float] = []
    f1: list[float] = []
    contains: list[float] = []
    cite_ok = cite_all = 0
    refused_pos = refused_neg = n_pos = n_neg = 0
    ttft: list[float] = []
    total: list[float] = []
    used_backend = ""
    judged: list[float] = []
    unparsed = 0
    progress.start("asking", total=len(qs))
    for q in qs:
        ans = sg.ask(q["question"])
        used_backend = ans["backend"]
        ttft.append(ans["timings_ms"]["first_token"])
        total.append(ans["timings_ms"]["total"])
        text = ans["answer"] if ans["found"] else ""
        if q["impossible"]:
            n_neg += 1
            refused_neg += not ans["found"]
            em.append(float(not ans["found"]))
            f1.append(float(not ans["found"]))
        else:
            n_pos += 1
            refused_pos += not ans["found"]
            plain = re.sub(r"\s*\[\d+(?:[,;]\s*\d+)*\]", "", text)
            em.append(max(float(normalize(plain) == normalize(g)) for g in q["answers"]))
            f1.append(max(f1_score(plain, g) for g in q["answers"]))
            contains.append(float(any(normalize(g) in normalize(plain) for g in q["answers"])) if plain else 0.0)
            if judge is not None:
                verdict = grade(judge, q["question"], q["answers"], plain) if plain else False
                unparsed += verdict is None
                judged.append(float(bool(verdict)))
            for c in ans["citations"]:
                cite_all += 1
                full = sg.reader().catalog.chunk(c["id"], c["passage"])
                body = normalize(full.text if full else c["snippet"])
                cite_ok += any(normalize(g) in body for g in q["answers"])
        progress.advance()
    progress.stop()
    return {
        "dataset": "squad2-dev", "split": split, "backend": used_backend, "questions": len(qs),
        "answerable": n_pos, "unanswerable": n_neg,
        "exact_match": round(statistics.mean(em), 4) if em else 0.0,
        "f1": round(statistics.mean(f1), 4) if f1 else 0.0,
        "contains_answer": round(statistics.mean(contains), 4) if contains else 0.0,
        "citation_precision": round(cite_ok / cite_all, 4) if cite_all else 0.0,
        "refusal_rate_unanswerable": round(refused_neg / n_neg, 4) if n_neg else 0.0,
        "refusal_rate_answerable": round(refused_pos / n_pos, 4) if n_pos else 0.0,
        "ttft_ms_p50": pct(ttft, 0.5), "total_ms_p50": pct(total, 0.5), "total_ms_p95": pct(total, 0.95),
        **({"judge_correct": round(statistics.mean(judged), 4) if judged else 0.0, "judge_unparsed": unparsed}
           if judge is not None else {}),
    }
