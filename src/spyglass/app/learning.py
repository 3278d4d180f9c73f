"""Learning from use, composed: opens and clicks into the activity log, suggested files, related files, and the
learned ranker trained from the log.

Every list returned here holds only documents the caller may read (checked in the catalog query). Signals that come
from other users (co-access, popularity) are counts over those documents, never who did what.
"""

from __future__ import annotations

import math
import os
import re
import time
from typing import TYPE_CHECKING, Any

from spyglass.core.acl import Principals
from spyglass.core.errors import NotFoundError, SpyglassError

if TYPE_CHECKING:
    from spyglass.app.spyglass import Spyglass

INTERACTIONS = ("open", "click")  # a user chose a document (click labels for the ranker)
USES = INTERACTIONS + ("edit",)  # and edits (new content at a new modified time): what suggestions learn from
# (the same uses as spyglass.ranking.personal.USES, which the learned ranker's usage features read)
ALS_MIN_USERS = 3  # below this a factor model has nothing to share between users
HALF_LIFE_DAYS = 14.0


def _visible(sg: Spyglass, ids: list[str], principals: Principals) -> set[str]:
    from spyglass.index.organize_store import acl_sql

    if not ids:
        return set()
    acl, params = acl_sql(principals)
    db = sg.activity().db
    out: set[str] = set()
    for k in range(0, len(ids), 500):
        part = ids[k : k + 500]
        out.update(r[0] for r in db.execute(
            f"SELECT i.id FROM items i WHERE i.id IN ({','.join('?' * len(part))}) "
            f"AND i.status IN ('ok', 'metadata'){acl}", part + params))
    return out


def _resolve(sg: Spyglass, ref: str, principals: Principals) -> dict[str, Any]:
    cat = sg.activity().catalog
    it = cat.visible_item(ref, principals) if re.fullmatch(r"[0-9a-f]{16}", ref) else None
    if it is None:
        raw = os.fsencode(os.path.abspath(os.path.expanduser(ref)))
        r = cat.db.execute("SELECT id FROM items WHERE path_raw = ? AND parent_id IS NULL AND status != 'deleted'",
                           (raw,)).fetchone()
        it = cat.visible_item(r[0], principals) if r else None
    if it is None:
        raise NotFoundError(f"{ref} is not an indexed document you can read")
    return it


def record_open(sg: Spyglass, user: str, ref: str, principals: Principals) -> dict[str, Any]:
    """``ref``: a 1-based position in the user's last search, a document id or a path. Logs an ``open``."""
    log = sg.activity()
    search_id = position = None
    if ref.isdigit() and len(ref) < 6:
        last = log.last_search(user)
        if last is None:
            raise SpyglassError("no search to open a result of: search first, or give a path")
        n = int(ref)
        if not 1 <= n <= len(last["ids"]):
            raise SpyglassError(f"the last search showed {len(last['ids'])} results")
        search_id, position, ref = last["id"], last["offset"] + n, last["ids"][n - 1]
    it = _resolve(sg, ref, principals)
    log.log_event(user, "open", it["id"], search_id, position)
    return it


def record_event(sg: Spyglass, user: str, kind: str, doc_id: str, principals: Principals,
                 search_id: int | None = None, position: int | None = None, dwell_s: float | None = None) -> int:
    it = _resolve(sg, doc_id, principals)
    if search_id is not None and sg.activity().search(search_id, user) is None:
        search_id = position = None  # only the user's own searches: a foreign id is dropped, not trusted
    return sg.activity().log_event(user, kind, it["id"], search_id, position, dwell_s)


def _interactions(sg: Spyglass) -> dict[str, list[tuple[float, str]]]:
    """Per user, their (time, item) opens, clicks and edits in time order."""
    per: dict[str, list[tuple[float, str]]] = {}
    for e in sg.activity().events(kinds=USES):
        per.setdefault(e["user"], []).append((e["at"], e["item_id"]))
    return per


def suggest(sg: Spyglass, user: str, principals: Principals, limit: int = 10) -> list[dict[str, Any]]:
    """What ``user`` is likely to open next: a blend of their own recency/frequency, item-item co-access over all
    users' opens and edits, a Markov chain from their last opened document and, once several users share the log,
    implicit ALS (docs/learning.md; models compared by ``spyglass eval recs``)."""
    from spyglass.recommend.data import Interactions
    from spyglass.recommend.itemknn import ItemKNN
    from spyglass.recommend.markov import MarkovChain

    per = _interactions(sg)
    mine = per.get(user, [])
    if not mine:
        return []
    users = sorted(per)
    items: dict[str, int] = {}
    seqs = [[items.setdefault(i, len(items)) for _, i in per[u]] for u in users]
    data = Interactions(len(users), len(items), seqs)
    ids = list(items)
    visible = _visible(sg, ids, principals)
    cand = [items[i] for i in ids if i in visible]
    if not cand:
        return []
    import numpy as np

    c = np.array(cand)
    u = users.index(user)
    now = time.time()
    rec = np.zeros(len(items))
    for at, i in mine:
        rec[items[i]] += 0.5 ** ((now - at) / 86400 / HALF_LIFE_DAYS)
    parts = {"recency": rec[c], "co_access": ItemKNN().fit(data).score(u, c),
             "next": MarkovChain().fit(data).score(u, c)}
    if len(users) >= ALS_MIN_USERS:  # implicit ALS, the best model of `spyglass eval recs`
        from spyglass.recommend.als import ImplicitALS

        parts["learned"] = np.maximum(ImplicitALS(factors=min(32, len(items))).fit(data).score(u, c), 0.0)
    score = np.zeros(len(c))
    for name, v in parts.items():
        top = float(v.max()) if len(v) else 0.0
        score += (v / top if top > 0 else v)
    order = np.argsort(-score)[:limit]
    info = sg.activity().catalog.items([ids[c[k]] for k in order])
    out = []
    for k in order:
        iid = ids[c[k]]
        it = info.get(iid)
        if it is None:
            continue
        why = max(parts, key=lambda n: parts[n][k] / (float(parts[n].max()) or 1.0))
        out.append({"id": iid, "path": it["path"], "title": it["title"] or it["name"], "type": it["type"],
                    "score": round(float(score[k]), 4), "why": why})
    return out


def related(sg: Spyglass, ref: str, principals: Principals, limit: int = 10) -> dict[str, Any]:
    """Documents related to ``ref``: content similarity (embeddings) blended with co-access (opened by the same
    people), only among what the caller may read."""
    from spyglass.app.organize import Organizer

    it = _resolve(sg, ref, principals)
    scores: dict[str, dict[str, float]] = {}
    org = Organizer(sg)
    try:
        files = org.store.files(principals)
        ids, x = org.doc_vectors([f["id"] for f in files])
        if it["id"] in ids:
            me = ids.index(it["id"])
            sims = x @ x[me]
            for j in sims.argsort()[::-1][: limit * 3]:
                if ids[j] != it["id"]:
                    scores.setdefault(ids[j], {})["content"] = float(sims[j])
    finally:
        org.close()
    per = _interactions(sg)
    openers = {u for u, evs in per.items() if any(i == it["id"] for _, i in evs)}
    if openers:
        both: dict[str, int] = {}
        users_of: dict[str, set[str]] = {}
        for u, evs in per.items():
            for _, i in evs:
                users_of.setdefault(i, set()).add(u)
        for i, us in users_of.items():
            if i != it["id"] and us & openers:
                both[i] = len(us & openers)
        visible = _visible(sg, list(both), principals)
        for i, n in both.items():
            if i in visible:
                scores.setdefault(i, {})["co_access"] = n / math.sqrt(len(openers) * len(users_of[i]))
    ranked = sorted(scores.items(), key=lambda kv: -(kv[1].get("content", 0) + kv[1].get("co_access", 0)))[:limit]
    info = sg.activity().catalog.items([i for i, _ in ranked])
    return {"id": it["id"], "path": it["path"], "related": [
        {"id": i, "path": info[i]["path"], "title": info[i]["title"] or info[i]["name"], "type": info[i]["type"],
         "score": round(s.get("content", 0) + s.get("co_access", 0), 4), "signals": {k: round(v, 4) for k, v in s.items()}}
        for i, s in ranked if i in info]}


def user_impressions(sg: Spyglass, positions: int = 10) -> tuple[list[tuple[str, str, int, int]], dict[str, tuple]]:
    """``(user and query, document, position, clicked)`` from every logged search's first ``positions`` results (a
    result counts as clicked when the same user opened or clicked it from that search), keyed ``"user\x1fquery"``,
    with each key's user, query and first search time: the personal ranker learns what *this* user opens."""
    log = sg.activity()
    clicked: set[tuple[int, str]] = set()
    for e in log.events(kinds=INTERACTIONS):
        if e["search_id"] is not None:
            clicked.add((e["search_id"], e["item_id"]))
    out, keys = [], {}
    for s in log.searches():
        q = s["query"].strip().lower()
        key = f"{s['user']}\x1f{q}"
        keys.setdefault(key, (s["user"], q, s["at"]))
        for k, iid in enumerate(s["ids"], s["offset"] + 1):
            if k <= positions:
                out.append((key, iid, k, int((s["id"], iid) in clicked)))
    return out, keys


def train_ranker(sg: Spyglass, min_queries: int = 5, progress: Any = None) -> dict[str, Any]:
    """Train LambdaMART on the activity log with position-bias correction: propensities by EM over the logged
    impressions (:mod:`spyglass.ranking.propensity`), inverse-propensity-weighted click labels per user and query,
    the packaged ranker's retrieval features, the document's path match and kind (``features.CONTEXT``) and the
    user's own usage (:mod:`spyglass.ranking.personal`, as of the search, so a row never sees its own click). Writes
    ``models/ranker-<time>.txt`` and points ``models/ranker.json`` at it (earlier versions are kept)."""
    import json

    from spyglass.ranking.features import CONTEXT, FEATURES
    from spyglass.ranking.ltr import train
    from spyglass.ranking.personal import PERSONAL
    from spyglass.ranking.propensity import DEFAULT_CLIP, em_propensities, grade, ipw_relevance

    imps, keys = user_impressions(sg)
    if not imps:
        raise SpyglassError("the activity log has no searches yet")
    theta = em_propensities(imps)
    est = ipw_relevance(imps, theta, DEFAULT_CLIP)
    labelled = sorted({k for (k, _), r in est.items() if r > 0})
    n_queries = len({keys[k][1] for k in labelled})
    if n_queries < min_queries:
        raise SpyglassError(f"{n_queries} searches with opened results so far; at least {min_queries} are needed")
    from spyglass.ranking.personal import UsageCache

    use = UsageCache(sg.activity()).current()
    shown: dict[str, set[str]] = {}
    for key, iid, _pos, _c in imps:
        shown.setdefault(key, set()).add(iid)
    cands: dict[str, tuple[list[str], list[list[float]]]] = {}
    groups = []
    for key in sorted(labelled, key=lambda k: keys[k][2]):  # in time order: usage is replayed once
        user, q, at = keys[key]
        if q not in cands:
            cands[q] = sg.candidate_features(q, context=True)
        # only what the user was shown: a document never shown has unknown relevance, not 0 (measured by
        # `spyglass eval ltr-personal`: labelling unshown candidates 0 teaches the ranker to bury re-found files)
        pairs = [(i, r) for i, r in zip(*cands[q]) if i in shown[key]]
        ids, rows = [p[0] for p in pairs], [p[1] for p in pairs]
        labels = [grade(est.get((key, i), 0.0)) for i in ids]
        if ids and any(labels):
            groups.append(([a + b for a, b in zip(rows, use.rows(user, ids, at))], labels))
    if len(groups) < min_queries:
        raise SpyglassError("too few of the logged searches still find their opened documents: index, then retry")
    models = sg.home / "models"
    models.mkdir(exist_ok=True)
    name = f"ranker-{time.strftime('%Y%m%d-%H%M%S')}.txt"
    n_rows = sum(len(r) for r, _ in groups)
    # a young log is small: let leaves be small too (the packaged ranker's 20 rows per leaf suits thousands of rows)
    small = {"min_data_in_leaf": max(2, min(20, n_rows // 50)), "min_sum_hessian_in_leaf": 1e-4}
    names = FEATURES + CONTEXT + PERSONAL
    res = train(groups, models / name, rounds=150, names=names, params=small)
    meta = {"model": name, "trained": time.time(), "queries": len(groups), "impressions": len(imps),
            "clicks": sum(c for *_, c in imps), "propensities": [round(t, 4) for t in theta],
            "features": names}
    tmp = models / "ranker.json.tmp"
    tmp.write_text(json.dumps(meta, indent=2))
    os.replace(tmp, models / "ranker.json")
    return {**meta, "rows": res["rows"], "gain": res["gain"]}
