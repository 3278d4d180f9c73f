"""Training one user's ranker from their own activity, and the gate it must pass to be deployed.

1. **Enough data.** At least ``MIN_SEARCHES`` of the user's searches with a result opened among the first 10;
   fewer is refused (six searches once made a learned ranker push the right mail out of the top 5).
2. **A time-ordered split.** The latest ``HOLDOUT_SHARE`` of those searches (at least ``MIN_HELDOUT``), and every
   search after the first of them, are held out; the ranker learns only from the earlier ones.
3. **Training** on the earlier searches: propensities by EM (:mod:`spyglass.ranking.propensity`), clipped
   inverse-propensity-weighted click labels per query, groups of the results the user was shown, features =
   retrieval + context (:mod:`spyglass.ranking.features`) + the user's usage as of each search
   (:mod:`spyglass.ranking.personal`); LambdaMART (:mod:`spyglass.ranking.ltr`).
4. **Evaluation** on the held-out searches: plain hybrid (today's candidate order) and the new ranker (its scores over
   the same candidates, usage as of each search) are measured with the same click metric
   (:mod:`spyglass.ranking.click_metrics`, propensities from step 3).
5. **The gate.** Deployed only when its nDCG@10 beats hybrid's; ``force`` deploys anyway (the loss is reported).

**A hybrid prior.** A user's log is small, so the ranker learns a correction to hybrid rather than a ranking from
scratch: boosting starts from ``s₀(r) = β / log2(1 + r)`` for the candidate at hybrid position ``r`` (LightGBM's
initial score) and the deployed score is ``s₀(r) + f(x)``. With ``β = 0`` it is plain LambdaMART.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spyglass.core.errors import SpyglassError
from spyglass.ranking.personal import Usage

MIN_SEARCHES = 20  # searches with an opened result before a ranker is trained at all
HOLDOUT_SHARE = 0.25  # the latest share of them that only tests the ranker
MIN_HELDOUT = 5
MIN_GROUPS = 5  # distinct earlier queries with a labelled click, to learn anything
POSITIONS = 10  # results per search that count as shown (impressions)
ROUNDS = 150
PRIOR = 0.0  # β of the hybrid prior (measured by `spyglass eval ltr-personal`)
LEARN_FROM: list[str] = []  # the features a user's ranker learns from ([]: all of them)

Candidates = Callable[[str], tuple[list[str], list[list[float]]]]  # query as typed -> (documents, feature rows)


@dataclass
class Search:
    """One logged search of the user: when, the words, the results shown (from ``offset`` + 1) and the clicks."""

    id: int
    at: float
    query: str
    shown: list[str]
    offset: int = 0
    clicked: set[str] = field(default_factory=set)

    def impressions(self) -> list[tuple[str, int, int]]:
        """(document, position, clicked) of the first :data:`POSITIONS` results."""
        return [(d, k, int(d in self.clicked)) for k, d in enumerate(self.shown, self.offset + 1) if k <= POSITIONS]

    @property
    def key(self) -> str:
        return self.query.strip().lower()

    def clicks(self) -> list[tuple[str, int]]:
        return [(d, k) for d, k, c in self.impressions() if c]


class NotEnoughData(SpyglassError):
    """Too little of the user's own activity to train or to test a ranker."""


def prior_score(beta: float, position: int) -> float:
    """``s₀(r) = β / log2(1 + r)``: the hybrid prior of the candidate at (1-based) position ``r``."""
    return beta / math.log2(1 + position) if beta else 0.0


def user_scorer(model: Path, result: dict[str, Any]) -> Callable[[list[list[float]]], list[float]]:
    """Scores of candidate rows given in hybrid order: the trained ranker's plus the prior it was trained with."""
    from spyglass.ranking.ltr import LtrRanker

    ranker, beta = LtrRanker(model), float(result.get("prior", 0.0))

    def score(rows: list[list[float]]) -> list[float]:
        return [s + prior_score(beta, n) for n, s in enumerate(ranker.score(rows), 1)]

    return score


def split(searches: Sequence[Search]) -> tuple[list[Search], list[Search]]:
    """(earlier, held out) in time order; raises :class:`NotEnoughData` below :data:`MIN_SEARCHES`."""
    ordered = sorted(searches, key=lambda s: (s.at, s.id))
    clicked = [s for s in ordered if s.clicks()]
    if len(clicked) < MIN_SEARCHES:
        raise NotEnoughData(
            f"{len(clicked)} of your searches have an opened result; a learned ranker needs at least {MIN_SEARCHES} "
            f"(the latest {MIN_HELDOUT} or more only test it against plain hybrid): keep searching and opening "
            "results (`spyglass open N`), then run `spyglass train ranker` again")
    n_test = max(MIN_HELDOUT, math.ceil(HOLDOUT_SHARE * len(clicked)))
    first_test = clicked[-n_test]
    cut = ordered.index(first_test)
    return ordered[:cut], [s for s in ordered[cut:] if s.clicks()]


def train_user_ranker(user: str, searches: Sequence[Search], candidates: Candidates, usage: Usage, out: Path,
                      force: bool = False, features: list[str] | None = None, prior: float = PRIOR,
                      params: dict[str, Any] | None = None, rounds: int = ROUNDS,
                      learn_from: list[str] | None = None) -> dict[str, Any]:
    """Train on the earlier searches, write the model to ``out`` and measure it on the held-out ones. The result says
    whether it may be deployed (``deploy``); the caller deploys or deletes ``out``. ``features``: the names of the
    candidate rows (default: retrieval and context features); the usage features are appended. ``learn_from``: the
    features the ranker may use (in that order; default :data:`LEARN_FROM`, else all)."""
    from spyglass.ranking.click_metrics import click_metrics
    from spyglass.ranking.features import CONTEXT, FEATURES
    from spyglass.ranking.ltr import train
    from spyglass.ranking.personal import PERSONAL
    from spyglass.ranking.propensity import DEFAULT_CLIP, em_propensities

    earlier, held_out = split(searches)
    imps = [(s.key, d, k, c) for s in earlier for d, k, c in s.impressions()]
    theta = em_propensities(imps)
    cache: dict[str, tuple[list[str], list[list[float]]]] = {}

    def cands(s: Search) -> tuple[list[str], list[list[float]]]:
        if s.key not in cache:  # the same words (in any case) give the same candidates
            cache[s.key] = candidates(s.query)
        return cache[s.key]

    groups, positions = _groups(user, earlier, imps, theta, cands, usage)
    if len(groups) < MIN_GROUPS:
        raise NotEnoughData(f"only {len(groups)} of your earlier searches still find the results you opened (at least "
                            f"{MIN_GROUPS} are needed): run `spyglass index`, keep searching, then retry")
    names = (features or FEATURES + CONTEXT) + PERSONAL
    use = [n for n in names if n in (learn_from if learn_from is not None else LEARN_FROM or names)]
    if use != names:
        cols = [names.index(n) for n in use]
        groups = [([[r[c] for c in cols] for r in rows], labels) for rows, labels in groups]
    n_rows = sum(len(r) for r, _ in groups)
    # a young log is small: let leaves be small too (the packaged ranker's 20 rows per leaf suits thousands of rows)
    small = {"min_data_in_leaf": max(2, min(20, n_rows // 50)), "min_sum_hessian_in_leaf": 1e-4, **(params or {})}
    init = [[prior_score(prior, r) for r in pos] for pos in positions] if prior else None
    res = train(groups, out, rounds=rounds, names=use, params=small, init=init)
    score = user_scorer(out, {"prior": prior})
    hybrid, learned = [], []
    for s in held_out:  # in time order, so usage is replayed forward once
        ids, rows = cands(s)
        hybrid.append((ids, s.clicks()))
        scores = score([a + b for a, b in zip(rows, usage.rows(user, ids, s.at))]) if ids else []
        order = sorted(range(len(ids)), key=lambda n: (-scores[n], n))
        learned.append(([ids[n] for n in order], s.clicks()))
    before, after = click_metrics(hybrid, theta, DEFAULT_CLIP), click_metrics(learned, theta, DEFAULT_CLIP)
    gain = round(after["ndcg@10"] - before["ndcg@10"], 4)
    return {"user": user, "trained": time.time(), "features": use, "prior": prior, "rows": res["rows"],
            "gain": res["gain"],
            "train_searches": len(earlier), "train_queries": len(groups), "impressions": len(imps),
            "clicks": sum(c for *_, c in imps), "propensities": [round(t, 4) for t in theta],
            "evaluation": {"held_out_searches": len(held_out), "clicks": before["clicks"],
                           "hybrid": {k: before[k] for k in ("ndcg@10", "mrr")},
                           "learned": {k: after[k] for k in ("ndcg@10", "mrr")}, "ndcg@10_gain": gain},
            "deploy": gain > 0 or force, "forced": force and gain <= 0}


def _groups(user: str, earlier: Sequence[Search], imps: list[tuple[str, str, int, int]], theta: list[float],
            cands: Callable[[Search], tuple[list[str], list[list[float]]]], usage: Usage
            ) -> tuple[list[Any], list[list[int]]]:
    """One LambdaMART group per earlier query with a click: the shown candidates' rows and graded IPW labels; and
    their positions in the hybrid order."""
    from spyglass.ranking.propensity import DEFAULT_CLIP, grade, ipw_relevance

    est = ipw_relevance(imps, theta, DEFAULT_CLIP)
    first: dict[str, Search] = {}
    shown: dict[str, set[str]] = {}
    for s in earlier:
        first.setdefault(s.key, s)
        shown.setdefault(s.key, set()).update(d for d, _k, _c in s.impressions())
    groups, positions = [], []
    for key in sorted(first, key=lambda q: (first[q].at, first[q].id)):  # in time order: usage is replayed once
        if not any(est.get((key, d), 0.0) > 0 for d in shown[key]):
            continue
        ids, rows = cands(first[key])
        # only what the user was shown: a document never shown has unknown relevance, not 0 (measured by
        # `spyglass eval ltr-personal`: labelling unshown candidates 0 teaches the ranker to bury re-found files)
        keep = [n for n, d in enumerate(ids) if d in shown[key]]
        labels = [grade(est.get((key, ids[n]), 0.0)) for n in keep]
        if keep and any(labels):
            personal = usage.rows(user, [ids[n] for n in keep], first[key].at)
            groups.append(([rows[n] + p for n, p in zip(keep, personal)], labels))
            positions.append([n + 1 for n in keep])
    return groups, positions
