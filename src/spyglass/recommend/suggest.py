"""Suggested files: what a user is likely to open next, a blend of four signals over the activity log (each scaled to
its maximum over the candidates, then summed):

* ``recency`` — the user's own uses, each decaying with a 14-day half-life, ``Σ 0.5^(age / 14 days)``;
* ``co_access`` — item-based collaborative filtering (:mod:`spyglass.recommend.itemknn`);
* ``next`` — a first-order Markov chain from the user's last document (:mod:`spyglass.recommend.markov`);
* ``learned`` — implicit ALS (:mod:`spyglass.recommend.als`), once at least ``ALS_MIN_USERS`` users share the view.

Other users enter only through :mod:`spyglass.recommend.shared`: their uses of shared documents, pairs and
transitions made by at least ``k`` of them. Candidates are the user's own documents and the shared ones, among what
``visible`` says the user may read. The models are compared on public data by ``spyglass eval recs``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from spyglass.recommend.data import Interactions
from spyglass.recommend.shared import SHARED_MIN_USERS, others_view

ALS_MIN_USERS = 3  # below this a factor model has nothing to share between users
HALF_LIFE_DAYS = 14.0


def suggest(uses: Mapping[str, Sequence[tuple[float, str]]], user: str, visible: Callable[[list[str]], set[str]],
            now: float, limit: int = 10, k: int = SHARED_MIN_USERS) -> list[tuple[str, float, str]]:
    """``(document, score, strongest signal)``, best first. ``uses``: per user, their (time, document) uses in time
    order; ``visible``: the documents among those given that the user may read."""
    import numpy as np

    mine = list(uses.get(user, []))
    if not mine:
        return []
    view = others_view({u: [i for _, i in evs] for u, evs in uses.items()}, user, k)
    users = [user] + sorted(view)
    items: dict[str, int] = {}
    seqs = [[items.setdefault(i, len(items)) for _, i in mine]] + \
           [[items.setdefault(i, len(items)) for i in view[u]] for u in users[1:]]
    ids = list(items)
    readable = visible(ids)
    cand = np.array([items[i] for i in ids if i in readable], dtype=np.int64)
    if not len(cand):
        return []
    parts = _signals(Interactions(len(users), len(items), seqs), mine, items, cand, now, k)
    score = np.zeros(len(cand))
    for v in parts.values():
        top = float(v.max()) if len(v) else 0.0
        score += v / top if top > 0 else v
    out = []
    for n in np.argsort(-score, kind="stable")[:limit]:
        why = max(parts, key=lambda s: parts[s][n] / (float(parts[s].max()) or 1.0))
        out.append((ids[cand[n]], float(score[n]), why))
    return out


def _signals(data: Interactions, mine: list[tuple[float, str]], items: dict[str, int], cand: Any, now: float,
             k: int) -> dict[str, Any]:
    import numpy as np

    from spyglass.recommend.itemknn import ItemKNN
    from spyglass.recommend.markov import MarkovChain

    rec = np.zeros(data.n_items)
    for at, i in mine:
        rec[items[i]] += 0.5 ** ((now - at) / 86400 / HALF_LIFE_DAYS)
    parts = {"recency": rec[cand], "co_access": ItemKNN(min_support=k, exempt=0).fit(data).score(0, cand),
             "next": MarkovChain(min_support=k, exempt=0).fit(data).score(0, cand)}
    if data.n_users >= ALS_MIN_USERS:  # implicit ALS, the best model of `spyglass eval recs`
        from spyglass.recommend.als import ImplicitALS

        als = ImplicitALS(factors=min(32, data.n_items)).fit(data)
        parts["learned"] = np.maximum(als.score(0, cand), 0.0)
    return parts
