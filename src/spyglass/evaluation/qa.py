"""Question answering over SQuAD 2.0 through the real pipeline: the dev paragraphs are indexed as documents, each
question is asked with ``Spyglass.ask``, and the answer is scored.

Metrics (official SQuAD normalisation: lower-case, no punctuation, no articles, single spaces):

- ``exact_match`` / ``f1``: max over the gold answers; F1 over normalised tokens, of the short answer (the answer
  model's span inside the quoted sentence; without the model, the whole answer). An unanswerable question scores 1
  when the answer says the files do not hold it, else 0 (as in the SQuAD 2.0 script).
- ``span_f1``: the same F1 over answerable questions only (a refusal scores 0).
- ``answer_found_rate`` (also ``contains_answer``): answerable questions whose answer (the quoted sentence) contains a
  gold answer.
- ``citation_precision``: cited passages that contain a gold answer, over all cited passages (answerable questions).
- ``refusal_rate_unanswerable`` / ``refusal_rate_answerable``: share answered "not found".
- ``curve`` (``--curve``): refusal and answer-found rates at several answerability thresholds τ.
- ``ttft_ms_p50`` / ``total_ms_p50`` / ``total_ms_p95``: time to the first token and to the checked answer.
- with a judge (:mod:`spyglass.evaluation.judge`): ``judge_correct`` — answerable questions whose answer an LLM judge
  grades as the same answer as a reference (a refusal is incorrect) — and ``judge_unparsed``.

Questions are split by a hash of their id: ``tune`` (used to set the extractive weights and thresholds, and to train
the answer model) and ``test`` (reported); within the tune half, ``val`` (one question in ten, :func:`part_of`) is held
out of the answer model's training and sets its threshold, ``train`` the rest.
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


def part_of(qid: str) -> str:
    """Within the tune half: ``val`` (one question in ten, held out of the answer model's training to set its
    threshold) or ``train``."""
    return "val" if int(hashlib.md5(f"{qid}:val".encode()).hexdigest(), 16) % 10 == 0 else "train"


def in_split(qid: str, split: str) -> bool:
    """``all``, ``tune``, ``test``, or ``val`` / ``train`` (the two parts of the tune half)."""
    if split == "all":
        return True
    if split in ("val", "train"):
        return split_of(qid) == "tune" and part_of(qid) == split
    return split_of(qid) == split


def load_questions(squad_json: Path, split: str, max_questions: int) -> list[dict[str, Any]]:
    """Answerable and unanswerable questions in equal numbers (up to ``max_questions`` in all), in file order."""
    data = json.loads(squad_json.read_text())["data"]
    pos: list[dict[str, Any]] = []
    neg: list[dict[str, Any]] = []
    for a, art in enumerate(data):
        for p, para in enumerate(art["paragraphs"]):
            for qa in para["qas"]:
                if not in_split(qa["id"], split):
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
                  judge: Any = None, curve: bool = False) -> dict[str, Any]:
    """Index SQuAD's dev paragraphs (cached, the same index as the retrieval evaluation) and run :func:`eval_qa`."""
    from spyglass.evaluation.beir import default_cache, squad_to_beir
    from spyglass.evaluation.runner import build_index

    config = config or Config()
    c = cache or default_cache()
    ds = squad_to_beir(squad_json, c / "squad2-dev-beir")
    home, _, _ = build_index(ds, config, c, progress)
    return eval_qa(squad_json, home, config, split, max_questions, backend, progress, judge, curve)


def eval_qa(squad_json: Path, home: Path, config: Config | None = None, split: str = "test",
            max_questions: int = 200, backend: str | None = None, progress: Progress | None = None,
            judge: Any = None, curve: bool = False) -> dict[str, Any]:
    """``home`` holds the SQuAD paragraphs indexed as documents (see ``spyglass eval qa``). ``judge``: a chat model
    (``stream(messages)``) that grades each answer against the references. ``curve``: also report refusal and
    answer-found rates at the thresholds of :data:`CURVE` (the answer model's answerability, one pass: the questions
    are asked without a threshold and each one is then scored at every τ)."""
    from spyglass.app.spyglass import Spyglass

    sg = Spyglass(home, config=config)
    qs = load_questions(squad_json, split, max_questions)
    return {"dataset": "squad2-dev", "split": split, **ask_all(sg, qs, backend, progress, judge, curve)}


def ask_all(sg: Any, qs: list[dict[str, Any]], backend: str | None = None, progress: Progress | None = None,
            judge: Any = None, curve: bool = False) -> dict[str, Any]:
    """Ask every question (``id``, ``question``, ``answers``, ``impossible``) through ``sg.ask`` and score the
    answers; see :func:`eval_qa`."""
    if backend is not None:
        sg.config.answer.backend = backend
    tau = sg.config.answer.min_answerable
    if curve:
        sg.config.answer.min_answerable = 0.0
    progress = progress or NullProgress()
    records: list[dict[str, Any]] = []
    progress.start("asking", total=len(qs))
    for q in qs:
        records.append(_record(sg, q, judge))
        progress.advance()
    progress.stop()
    used = records[0]["backend"] if records else ""
    res = {"backend": used, "questions": len(qs), **qa_metrics(records, tau if curve else None)}
    if curve and any(r["p"] is not None for r in records):
        res["threshold"] = tau
        res["curve"] = [{"threshold": t, **{k: v for k, v in qa_metrics(records, t).items() if k in CURVE_KEYS}}
                        for t in CURVE]
    if judge is not None:
        judged = [r["judged"] for r in records if not r["impossible"]]
        res["judge_correct"] = round(statistics.mean(judged), 4) if judged else 0.0
        res["judge_unparsed"] = sum(r["unparsed"] for r in records)
    return res


CURVE = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
CURVE_KEYS = ("refusal_rate_unanswerable", "answer_found_rate", "citation_precision", "span_f1")


def _record(sg: Any, q: dict[str, Any], judge: Any) -> dict[str, Any]:
    """One question asked: what the answer said, and how it compares with the references."""
    from spyglass.evaluation.judge import judge as grade

    ans = sg.ask(q["question"])
    text = re.sub(r"\s*\[\d+(?:[,;]\s*\d+)*\]", "", ans["answer"]) if ans["found"] else ""
    short = ans.get("span") or text  # the answer model's span, else the whole answer
    golds = q["answers"]
    cites = []
    for c in ans["citations"]:
        full = sg.reader().catalog.chunk(c["id"], c["passage"])
        body = normalize(full.text if full else c["snippet"])
        cites.append(any(normalize(g) in body for g in golds))
    rec = {"impossible": q["impossible"], "backend": ans["backend"], "found": ans["found"],
           "p": ans.get("answerability"), "ttft": ans["timings_ms"]["first_token"], "total": ans["timings_ms"]["total"],
           "holds": bool(text) and any(normalize(g) in normalize(text) for g in golds),
           "em": max((float(normalize(short) == normalize(g)) for g in golds), default=0.0),
           "f1": max((f1_score(short, g) for g in golds), default=0.0), "cites": cites,
           "judged": 0.0, "unparsed": 0}
    if judge is not None and not q["impossible"]:
        verdict = grade(judge, q["question"], golds, text) if text else False
        rec["unparsed"] = int(verdict is None)
        rec["judged"] = float(bool(verdict))
    return rec


def qa_metrics(records: list[dict[str, Any]], tau: float | None = None) -> dict[str, Any]:
    """The metrics of the module docstring; ``tau``: treat answers whose answerability is below it as refusals."""
    def answered(r: dict[str, Any]) -> bool:
        return r["found"] and (tau is None or r["p"] is None or r["p"] >= tau)

    pos = [r for r in records if not r["impossible"]]
    neg = [r for r in records if r["impossible"]]
    em = [float(not answered(r)) for r in neg] + [r["em"] if answered(r) else 0.0 for r in pos]
    f1 = [float(not answered(r)) for r in neg] + [r["f1"] if answered(r) else 0.0 for r in pos]
    found = [float(answered(r) and r["holds"]) for r in pos]
    cites = [c for r in pos if answered(r) for c in r["cites"]]
    mean = lambda xs: round(statistics.mean(xs), 4) if xs else 0.0
    return {
        "answerable": len(pos), "unanswerable": len(neg),
        "exact_match": mean(em), "f1": mean(f1),
        "span_f1": mean([r["f1"] if answered(r) else 0.0 for r in pos]),
        "answer_found_rate": mean(found), "contains_answer": mean(found),
        "citation_precision": round(sum(cites) / len(cites), 4) if cites else 0.0,
        "refusal_rate_unanswerable": mean([float(not answered(r)) for r in neg]),
        "refusal_rate_answerable": mean([float(not answered(r)) for r in pos]),
        "ttft_ms_p50": pct([r["ttft"] for r in records], 0.5), "total_ms_p50": pct([r["total"] for r in records], 0.5),
        "total_ms_p95": pct([r["total"] for r in records], 0.95),
    }
