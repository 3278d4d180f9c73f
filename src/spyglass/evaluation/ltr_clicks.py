"""``spyglass eval ltr``: learning to rank from simulated clicks, with and without position-bias correction.

On a BEIR set with train and test qrels (SciFact): simulated users (:mod:`spyglass.evaluation.click_sim`) click on
the hybrid ranking of every *train* query; LambdaMART (:mod:`spyglass.ranking.ltr`) is trained on

* ``clicks-naive`` — click-through rates as labels (what a system learns without correction: clicks mostly say
  "was near the top");
* ``clicks-ipw-em`` — inverse-propensity-weighted labels with propensities estimated from the same logs by EM
  (:mod:`spyglass.ranking.propensity`);
* ``clicks-ipw-em-clip`` — the same with propensities floored at 0.2 (clipping), what ``spyglass train ranker`` uses;
* ``clicks-ipw-true`` — unclipped, with the simulator's true propensities (a reference for the EM estimate);
* ``qrels`` — the graded judgements themselves (the upper bound),

and each is measured by nDCG@10 on the *test* queries against hybrid alone.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

from spyglass.core.config import Config
from spyglass.core.progress import NullProgress, Progress
from spyglass.evaluation.beir import default_cache, doc_id_of, load_qrels, load_queries
from spyglass.evaluation.click_sim import simulate, true_propensities
from spyglass.evaluation.metrics import evaluate


def _candidates(sg: Any, queries: dict[str, str], qids: list[str], progress: Progress, label: str) -> dict:
    out = {}
    progress.start(label, len(qids))
    for qid in qids:
        ids, rows = sg.candidate_features(queries[qid])
        if ids:
            items = sg.reader().catalog.items(ids)
            out[qid] = ([doc_id_of(items[i]["name"]) for i in ids], rows)
        progress.advance()
    progress.stop()
    return out


def _round(m: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 4) for k, v in m.items()}


def _train_and_test(groups: list, te: dict, test_q: dict) -> dict[str, float]:
    import tempfile

    from spyglass.ranking.ltr import LtrRanker, train

    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "m.txt"
        train([g for g in groups if any(g[1])], model)
        ranker = LtrRanker(model)
        run = {q: dict(zip(docs, ranker.score(rows))) for q, (docs, rows) in te.items()}
    return _round(evaluate({q: test_q[q] for q in te}, run))


def load_candidates(dataset: Path, config: Config | None = None, cache: Path | None = None,
                    progress: Progress | None = None) -> tuple[dict, dict, dict, dict]:
    """Train and test candidates (documents in hybrid order, feature rows) of a BEIR set, and its train and test
    qrels. Features depend only on the cached index, so they are cached beside it."""
    from spyglass.app.spyglass import Spyglass
    from spyglass.evaluation.runner import build_index

    progress = progress or NullProgress()
    config = config or Config()
    home, _, _ = build_index(dataset, config, cache or default_cache(), progress)
    queries = load_queries(dataset)
    train_q, test_q = load_qrels(dataset, "train"), load_qrels(dataset, "test")
    saved = home.parent / "ltr-candidates.pkl"
    if saved.exists():
        import pickle

        tr, te = pickle.loads(saved.read_bytes())
    else:
        import pickle

        sg = Spyglass(home, config=config)
        try:
            tr = _candidates(sg, queries, [q for q in train_q if q in queries], progress, "Train candidates")
            te = _candidates(sg, queries, [q for q in test_q if q in queries], progress, "Test candidates")
        finally:
            sg.close()
        saved.write_bytes(pickle.dumps((tr, te)))
    return tr, te, train_q, test_q


def eval_ltr(dataset: Path, sessions: int = 20, click_model: str = "pbm", eta: float = 1.0, eps: float = 0.1,
             seed: int = 1, config: Config | None = None, cache: Path | None = None,
             progress: Progress | None = None, grid: list[tuple[int, str, float]] | None = None) -> dict[str, Any]:
    """``grid``: several (sessions per query, click model, η) settings measured on the same candidates."""
    from spyglass.ranking.propensity import DEFAULT_CLIP, em_propensities, grade, ipw_relevance

    progress = progress or NullProgress()
    tr, te, train_q, test_q = load_candidates(dataset, config, cache, progress)
    hybrid_run = {q: {d: float(len(docs) - i) for i, d in enumerate(docs)} for q, (docs, _) in te.items()}
    out: dict[str, Any] = {"dataset": dataset.name, "train_queries": len(tr), "test_queries": len(te),
                           "hybrid": _round(evaluate({q: test_q[q] for q in te}, hybrid_run))}
    out["hybrid_ndcg@10"] = out["hybrid"]["ndcg@10"]
    qrels_groups = [(rows, [train_q[q].get(d, 0) for d in docs]) for q, (docs, rows) in tr.items()]
    out["qrels"] = _round(_train_and_test(qrels_groups, te, test_q))
    out["qrels_ndcg@10"] = out["qrels"]["ndcg@10"]
    out["settings"] = []
    for sessions_, model_, eta_ in grid or [(sessions, click_model, eta)]:
        rng = random.Random(seed)
        t0 = time.perf_counter()
        log = []
        for qid, (docs, _) in tr.items():
            rel = {d for d, g in train_q[qid].items() if g > 0}
            log += simulate(qid, docs, rel, rng, sessions_, model_, eta_, eps)
        theta_em = em_propensities(log)
        theta_true = true_propensities(eta_)
        fit_s = time.perf_counter() - t0
        row: dict[str, Any] = {
            "click_model": model_, "eta": eta_, "noise": eps, "sessions_per_query": sessions_,
            "impressions": len(log), "clicks": sum(c for *_, c in log),
            "propensity_em": [round(t, 3) for t in theta_em], "propensity_true": [round(t, 3) for t in theta_true],
            "propensity_mae": round(sum(abs(a - b) for a, b in zip(theta_em, theta_true)) / len(theta_true), 4),
            "propensity_seconds": round(fit_s, 1)}
        variants = {"clicks-naive": (None, 0.0), "clicks-ipw-em": (theta_em, 0.0),
                    "clicks-ipw-em-clip": (theta_em, DEFAULT_CLIP)}
        if model_ == "pbm":
            variants["clicks-ipw-true"] = (theta_true, 0.0)
        for name, (theta, clip) in variants.items():
            est = ipw_relevance(log, theta, clip)
            groups = [(rows, [grade(est.get((q, d), 0.0)) for d in docs]) for q, (docs, rows) in tr.items()]
            row[f"{name}_ndcg@10"] = _train_and_test(groups, te, test_q)["ndcg@10"]
        out["settings"].append(row)
    first = out["settings"][0]
    for k, v in first.items():
        if k.endswith("@10"):
            out[k] = v
    return out
