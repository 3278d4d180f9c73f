"""Fusion methods × collections, measured offline on dumped runs (issue 16).

Step 1 (slow once, cached): every collection of the retrieval suite — BEIR SciFact, SQuAD (question → paragraph),
Cranfield, CISI, XQuAD en/de/zh — is indexed through the normal pipeline (the evaluation cache), and for each query
the keyword and the semantic run (top 100 documents with their scores) are written to benchmarks/out/fusion/*.json.
Step 2 (seconds): each fusion method turns the two runs into one, and nDCG@10 is computed with trec_eval.

    .venv/bin/python benchmarks/bench_fusion.py            # dump what is missing, then the table
    .venv/bin/python benchmarks/bench_fusion.py --only dump

The methods compared live in spyglass.retrieval.fusion (one formula per file); the query features they read come
from the runs and the query text only (no labels), so every method is one configuration for all collections.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "out" / "fusion"


def suite(data: Path, cache: Path) -> dict[str, Path]:
    from spyglass.evaluation.beir import squad_to_beir

    out = {}
    for name in ("xquad-en", "xquad-de", "xquad-zh", "cranfield", "cisi"):  # the small ones first
        if (data / "retrieval-dev" / name).is_dir():
            out[name] = data / "retrieval-dev" / name
    out["squad"] = squad_to_beir(data / "qa" / "squad2-dev" / "dev-v2.0.json", cache / "squad2-dev-beir")
    out["scifact"] = data / "beir" / "scifact"
    return out


def dump(name: str, dataset: Path, cache: Path, depth: int = 100) -> Path:
    """The keyword and semantic runs of every judged query of ``dataset`` (built with the default config)."""
    from spyglass.app.search import make_request
    from spyglass.app.spyglass import Spyglass
    from spyglass.core.acl import EVERYTHING
    from spyglass.core.config import Config
    from spyglass.evaluation.beir import doc_id_of, load_qrels, load_queries
    from spyglass.evaluation.runner import build_index, settings_key

    config = Config()
    target = OUT / f"{name}-{settings_key(config, dataset)}.json"
    if target.exists():
        return target
    home, seconds, _ = build_index(dataset, config, cache)
    print(f"{name}: index {seconds} s", file=sys.stderr)
    sg = Spyglass(home, config=config)
    pipe = sg.parts.pipeline()
    names = {r[0]: doc_id_of(r[1]) for r in sg.reader().catalog.db.execute("SELECT id, name FROM items")}
    queries, qrels = load_queries(dataset), load_qrels(dataset)
    runs = {}
    for qid, rel in qrels.items():
        if qid not in queries:
            continue
        req = make_request(sg.parts, queries[qid], principals=EVERYTHING, syntax="plain", snippets=False,
                           rerank="none", limit=depth)
        kw, sem = pipe.lexical.run(req, depth), pipe.dense.run(req, depth)
        runs[qid] = {"text": queries[qid],
                     "keyword": [[names[h.id], round(h.score, 5)] for h in kw.hits],
                     "semantic": [[names[h.id], round(h.score, 5)] for h in sem.hits],
                     "keyword_total": kw.total}
    sg.close()
    OUT.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({"name": name, "qrels": qrels, "runs": runs}))
    return target


def _minmax(run: dict[str, float]) -> dict[str, float]:
    from spyglass.retrieval.fusion.normalized import minmax

    return minmax(run)


def _z(run: dict[str, float]) -> dict[str, float]:
    import statistics

    if len(run) < 2:
        return {d: 0.0 for d in run}
    mu, sd = statistics.fmean(run.values()), statistics.pstdev(run.values()) or 1.0
    return {d: (s - mu) / sd for d, s in run.items()}


def _dbsf(run: dict[str, float]) -> dict[str, float]:
    """Distribution-based score fusion's normalisation: min-max between mean - 3 sd and mean + 3 sd."""
    import statistics

    if len(run) < 2:
        return {d: 1.0 for d in run}
    mu, sd = statistics.fmean(run.values()), statistics.pstdev(run.values())
    lo, hi = mu - 3 * sd, mu + 3 * sd
    return {d: (s - lo) / (hi - lo) if hi > lo else 1.0 for d, s in run.items()}


def _tmm(run: dict[str, float], lo: float) -> dict[str, float]:
    """Theoretical-min-max normalisation (Bruch et al. 2023): the score's lower bound (0 for BM25, -1 for cosine) to
    the observed maximum."""
    hi = max(run.values(), default=lo)
    return {d: (s - lo) / (hi - lo) if hi > lo else 1.0 for d, s in run.items()}


def _combine(parts: list[tuple[dict[str, float], float]], floor: float | None = None) -> dict[str, float]:
    out: dict[str, float] = {}
    for run, w in parts:
        lo = min(run.values(), default=0.0) if floor is None else floor
        for d, s in run.items():
            out[d] = out.get(d, 0.0) + w * s
        for d in out:
            if d not in run:
                out[d] += w * lo
    return out


_VOCAB: dict[str, Any] = {}


def familiarity(text: str) -> float:
    """Share of the query's words the English embedder knows as whole word pieces (non-Latin words count as unknown)."""
    import re

    if "tok" not in _VOCAB:
        from tokenizers import Tokenizer

        from spyglass.models.embedder import resolve

        _VOCAB["tok"] = Tokenizer.from_file(str(resolve("minilm-l6-int8").tokenizer))
        _VOCAB["vocab"] = _VOCAB["tok"].get_vocab()
    words = re.findall(r"\w+", text.lower())
    if not words:
        return 1.0
    vocab = _VOCAB["vocab"]
    known = sum(1 for w in words if w in vocab and not w.isdigit() and all(ord(c) < 0x250 for c in w))
    return known / len(words)


def methods() -> dict[str, Any]:
    from spyglass.retrieval.fusion import normalized_sum, rrf

    def mm(a: float):
        return lambda q, k, s: normalized_sum([k, s], [1 - a, a])

    def z(a: float = 0.5):
        return lambda q, k, s: _combine([(_z(k), 1 - a), (_z(s), a)])

    def gated(base, lo: float = 0.35, hi: float = 0.75):
        def f(q, k, s):
            fam = familiarity(q)
            g = min(1.0, max(0.0, (fam - lo) / (hi - lo)))
            return base(g)(q, k, s)
        return f

    return {
        "keyword": lambda q, k, s: k,
        "semantic": lambda q, k, s: s,
        "minmax-0.5": mm(0.5),
        "minmax-0.3": mm(0.3),
        "minmax-0.7": mm(0.7),
        "rrf-60": lambda q, k, s: rrf([k, s], k=60),
        "zscore-0.5": z(0.5),
        "dbsf-0.5": lambda q, k, s: _combine([(_dbsf(k), 0.5), (_dbsf(s), 0.5)]),
        "tmm-0.5": lambda q, k, s: _combine([(_tmm(k, 0.0), 0.5), (_tmm(s, -1.0), 0.5)], floor=0.0),
        "minmax-gated": gated(lambda g: mm(0.5 * g)),
        "zscore-gated": gated(lambda g: z(0.5 * g)),
    }


def evaluate_all(files: list[Path]) -> dict[str, dict[str, float]]:
    from spyglass.evaluation.metrics import evaluate

    METHODS = methods()

    table: dict[str, dict[str, float]] = {}
    for f in files:
        d = json.loads(f.read_text())
        qrels = {q: r for q, r in d["qrels"].items() if q in d["runs"]}
        for method, fuse in METHODS.items():
            run = {}
            for qid, r in d["runs"].items():
                run[qid] = fuse(r["text"], dict(map(tuple, r["keyword"])), dict(map(tuple, r["semantic"])))
            table.setdefault(method, {})[d["name"]] = evaluate(qrels, run)["ndcg@10"]
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=["dump", "table"])
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--cache", type=Path, default=None)
    args = ap.parse_args()
    from spyglass.evaluation.beir import default_cache
    from spyglass.evaluation.registry import data_dir

    cache = args.cache or default_cache()
    files = []
    if args.only != "table":
        for name, ds in suite(data_dir(args.data), cache).items():
            t0 = time.perf_counter()
            files.append(dump(name, ds, cache))
            print(f"{name}: runs in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    if args.only == "dump":
        return
    files = files or sorted(OUT.glob("*.json"))
    table = evaluate_all(files)
    cols = [json.loads(f.read_text())["name"] for f in files]
    print("| method | " + " | ".join(cols) + " | mean | worst gap |")
    print("|---|" + "---|" * (len(cols) + 2))
    base_kw, base_sem = table["keyword"], table["semantic"]
    for method, row in table.items():
        gap = min(row[c] - max(base_kw[c], base_sem[c]) for c in cols)
        print(f"| {method} | " + " | ".join(f"{row[c]:.4f}" for c in cols)
              + f" | {sum(row.values()) / len(row):.4f} | {gap:+.4f} |")


if __name__ == "__main__":
    main()
