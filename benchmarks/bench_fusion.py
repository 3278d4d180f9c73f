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

OUT = Path(__file__).resolve().parent / "out" / "fusion"


def suite(data: Path, cache: Path) -> dict[str, Path]:
    from spyglass.evaluation.beir import squad_to_beir

    out = {"scifact": data / "beir" / "scifact",
           "squad": squad_to_beir(data / "qa" / "squad2-dev" / "dev-v2.0.json", cache / "squad2-dev-beir")}
    for name in ("cranfield", "cisi", "xquad-en", "xquad-de", "xquad-zh"):
        if (data / "retrieval-dev" / name).is_dir():
            out[name] = data / "retrieval-dev" / name
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


def evaluate_all(files: list[Path]) -> dict[str, dict[str, float]]:
    from spyglass.evaluation.metrics import evaluate
    from spyglass.retrieval.fusion import METHODS

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
