"""``spyglass eval ltr-personal``: do the usage features of the learned ranker help users who come back for their own
documents, without hurting anyone else?

People often search for documents they have used before — re-finding is a large share of personal search (Dumais et
al., "Stuff I've Seen", SIGIR 2003; Teevan et al., "Information Re-Retrieval", SIGIR 2007). SciFact has topical
judgements but no users, so users are simulated over its train and test queries:

* each of ``users`` users has a library of ``library`` abstracts they used before (1–3 opens each, logged);
* a user searches train queries; for them a result is relevant when it is judged relevant in the qrels *or* it is in
  their library (the re-finding case); they click on the hybrid ranking with position bias (the position-based model
  of :mod:`spyglass.evaluation.click_sim`, with RandPair swaps), and every click is logged as a use;
* ``per_user`` — what ``spyglass train ranker`` does: one ranker per user from that user's own log only
  (:mod:`spyglass.ranking.user_training`: the earlier searches train it, the latest quarter tests it against hybrid,
  usage features follow the rule between users of :mod:`spyglass.recommend.shared`); ``per_user_gated`` — the same,
  but a user keeps plain hybrid unless their ranker won on their own held-out searches (the deployment gate);
* for reference, one ranker for everyone from all users' clicks — the way Spyglass trained before rankers became
  per-user (one user's clicks then steered everyone's ranking) — on the retrieval features alone (``learned``) and with
  the usage features (``learned_personal``), with groups of the shown results (``_shown``) or of every candidate,
  the unshown labelled 0 (``_all``);
* everything is measured by nDCG@10 on the *test* queries, with each user's own relevance, against hybrid alone, and
  separately on the searches where the user's library holds no candidate (where personal features can only hurt).
SciFact's abstracts have no folders or kinds, so the rankers here see no context features.
"""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spyglass.core.config import Config
from spyglass.core.progress import NullProgress, Progress
from spyglass.evaluation.click_sim import simulate
from spyglass.evaluation.ltr_clicks import load_candidates
from spyglass.evaluation.metrics import evaluate


def _ndcg(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]]) -> float:
    keys = [k for k in run if any(g > 0 for g in qrels.get(k, {}).values())]
    return round(evaluate({k: qrels[k] for k in keys}, {k: run[k] for k in keys})["ndcg@10"], 4) if keys else 0.0


@dataclass
class World:
    """The simulated users: their libraries, uses, logged searches (all together and per user) and test searches."""

    libs: dict[str, set[str]]
    usage: Any  # spyglass.ranking.personal.Usage over every use
    imps: list[tuple[str, str, int, int]]
    keys: dict[str, tuple[str, str, float]]  # "user\x1fquery" -> (user, query, first search time)
    logs: dict[str, list[Any]]  # user -> their own searches (spyglass.ranking.user_training.Search)
    qrels: dict[str, dict[str, int]]
    tests_of: list[tuple[str, str, str]]  # (key, user, test query)
    refind: set[str]
    now: float


def simulate_users(tr: dict, te: dict, train_q: dict, test_q: dict, users: int = 30, library: int = 25,
                   searches: int = 40, tests: int = 20, eta: float = 1.0, eps: float = 0.1, seed: int = 1) -> World:
    from spyglass.ranking.personal import Usage
    from spyglass.ranking.user_training import Search

    rng = random.Random(seed)
    universe = sorted({d for docs, _ in list(tr.values()) + list(te.values()) for d in docs})
    libs = {f"u{u}": set(rng.sample(universe, library)) for u in range(users)}
    events: list[tuple[str, float, str]] = []
    t = 0.0
    for u, lib in libs.items():  # earlier use of each library document
        for d in sorted(lib):
            for _ in range(rng.randint(1, 3)):
                t += 1.0
                events.append((u, t, d))
    # the training log: searches, position-biased clicks, each click a use
    imps = []
    keys: dict[str, tuple[str, str, float]] = {}
    logs: dict[str, list[Search]] = {u: [] for u in libs}
    train_ids = sorted(tr)
    for _ in range(searches):
        for u, lib in libs.items():
            q = rng.choice(train_ids)
            t += 1.0
            key = f"{u}\x1f{q}"
            keys.setdefault(key, (u, q, t))
            docs = tr[q][0]
            rel = {d for d, g in train_q[q].items() if g > 0} | (lib & set(docs))
            session = simulate(key, docs, rel, rng, sessions=1, model="pbm", eta=eta, eps=eps)
            imps += session
            logs[u].append(Search(len(imps), t, q, [d for _k, d, _pos, _c in session],
                                  clicked={d for _k, d, _pos, c in session if c}))
            for _k, d, _pos, c in session:
                if c:
                    t += 0.01
                    events.append((u, t, d))
    # test: each user asks test queries; relevance is theirs (qrels + their library)
    qrels: dict[str, dict[str, int]] = {}
    tests_of: list[tuple[str, str, str]] = []
    test_ids = sorted(te)
    for u, lib in libs.items():
        for q in rng.sample(test_ids, min(tests, len(test_ids))):
            key = f"{u}\x1f{q}"
            docs = te[q][0]
            qrels[key] = {d: g for d, g in test_q[q].items() if g > 0} | {d: 1 for d in lib & set(docs)}
            tests_of.append((key, u, q))
    refind = {k for k, u, q in tests_of if libs[u] & set(te[q][0])}
    return World(libs, Usage(events, {}, {}), imps, keys, logs, qrels, tests_of, refind, t + 1.0)


def eval_ltr_personal(dataset: Path, users: int = 30, library: int = 25, searches: int = 40, tests: int = 20,
                      eta: float = 1.0, eps: float = 0.1, seed: int = 1, config: Config | None = None,
                      cache: Path | None = None, progress: Progress | None = None) -> dict[str, Any]:
    progress = progress or NullProgress()
    tr, te, train_q, test_q = load_candidates(dataset, config, cache, progress)
    w = simulate_users(tr, te, train_q, test_q, users, library, searches, tests, eta, eps, seed)
    out: dict[str, Any] = {"dataset": dataset.name, "users": users, "library": library,
                           "train_searches": len(w.keys), "test_searches": len(w.tests_of),
                           "refinding_share": round(len(w.refind) / len(w.tests_of), 3),
                           "impressions": len(w.imps), "clicks": sum(c for *_, c in w.imps)}
    report(out, w, "hybrid", {key: {d: float(len(te[q][0]) - i) for i, d in enumerate(te[q][0])}
                              for key, u, q in w.tests_of})
    for groups_of in ("shown", "all"):
        plain, personal = _one_for_everyone(w, tr, te, groups_of)
        report(out, w, f"learned_{groups_of}", plain)
        report(out, w, f"learned_personal_{groups_of}", personal)
    per_user = per_user_rankers(w, tr, te)
    report(out, w, "per_user", per_user["run"])
    report(out, w, "per_user_gated", per_user["gated"])
    out["per_user_deployed"] = per_user["deployed"]
    out["per_user_skipped"] = per_user["skipped"]
    return out


def report(out: dict[str, Any], w: World, name: str, run: dict[str, dict[str, float]]) -> None:
    out[f"{name}_ndcg@10"] = _ndcg(w.qrels, run)
    out[f"{name}_refinding_ndcg@10"] = _ndcg(w.qrels, {k: v for k, v in run.items() if k in w.refind})
    out[f"{name}_other_ndcg@10"] = _ndcg(w.qrels, {k: v for k, v in run.items() if k not in w.refind})


def _one_for_everyone(w: World, tr: dict, te: dict, groups_of: str) -> tuple[dict, dict]:
    """One ranker from all users' clicks (how Spyglass trained before per-user rankers), without and with usage
    features. ``groups_of="shown"``: groups of the documents the user was shown (a document never shown has unknown
    relevance); ``"all"``: every candidate, the unshown ones labelled 0."""
    from spyglass.ranking.features import FEATURES
    from spyglass.ranking.ltr import LtrRanker, train
    from spyglass.ranking.personal import PERSONAL
    from spyglass.ranking.propensity import DEFAULT_CLIP, em_propensities, grade, ipw_relevance

    theta = em_propensities(w.imps)
    est = ipw_relevance(w.imps, theta, DEFAULT_CLIP)
    labelled = sorted({k for (k, _), r in est.items() if r > 0}, key=lambda k: w.keys[k][2])
    shown: dict[str, set[str]] = {}
    for k, d, _pos, _c in w.imps:
        shown.setdefault(k, set()).add(d)
    plain, personal = [], []
    for key in labelled:
        u, q, at = w.keys[key]
        docs, rows = tr[q]
        keep = [i for i, d in enumerate(docs) if d in shown[key]] if groups_of == "shown" else range(len(docs))
        docs, rows = [docs[i] for i in keep], [rows[i] for i in keep]
        labels = [grade(est.get((key, d), 0.0)) for d in docs]
        plain.append((rows, labels))
        personal.append(([a + b for a, b in zip(rows, w.usage.rows(u, docs, at))], labels))
    with tempfile.TemporaryDirectory() as tmp:
        m_plain, m_pers = Path(tmp) / "plain.txt", Path(tmp) / "personal.txt"
        train(plain, m_plain, rounds=150)
        train(personal, m_pers, rounds=150, names=FEATURES + PERSONAL)
        r_plain, r_pers = LtrRanker(m_plain), LtrRanker(m_pers)
        run_plain, run_pers = {}, {}
        for key, u, q in w.tests_of:
            docs, rows = te[q]
            run_plain[key] = dict(zip(docs, r_plain.score(rows)))
            run_pers[key] = dict(zip(docs, r_pers.score([a + b for a, b in zip(rows, w.usage.rows(u, docs, w.now))])))
    return run_plain, run_pers


def per_user_rankers(w: World, tr: dict, te: dict, **train_options: Any) -> dict[str, Any]:
    """Each user's own ranker (``spyglass train ranker``) on their test searches; ``gated``: only where it beat hybrid
    on their held-out searches, else hybrid."""
    from spyglass.ranking.features import FEATURES
    from spyglass.ranking.user_training import NotEnoughData, train_user_ranker, user_scorer

    run: dict[str, dict[str, float]] = {}
    gated: dict[str, dict[str, float]] = {}
    deployed = skipped = 0
    with tempfile.TemporaryDirectory() as tmp:
        for u, log in w.logs.items():
            model = Path(tmp) / f"{u}.txt"
            try:
                res = train_user_ranker(u, log, lambda q: tr[q], w.usage, model, features=FEATURES, **train_options)
            except NotEnoughData:
                skipped += 1
                res = None
            score = user_scorer(model, res) if res is not None else None
            deployed += bool(res and res["deploy"])
            for key, user, q in w.tests_of:
                if user != u:
                    continue
                docs, rows = te[q]
                hybrid = {d: float(len(docs) - i) for i, d in enumerate(docs)}
                if score is None:
                    run[key] = gated[key] = hybrid
                    continue
                run[key] = dict(zip(docs, score([a + b for a, b in zip(rows, w.usage.rows(u, docs, w.now))])))
                gated[key] = run[key] if res["deploy"] else hybrid
    return {"run": run, "gated": gated, "deployed": deployed, "skipped": skipped}
