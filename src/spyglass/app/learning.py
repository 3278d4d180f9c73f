"""Learning from use, composed: opens and clicks into the activity log, suggested files, related files, each user's
learned ranker, and erasing all of it.

:class:`Learning` is a service handed what it needs — the activity log (and its catalog connection, for what a caller
may read), the per-user rankers, the usage features, a candidate-feature provider and a document-vector provider — never
the Spyglass object; :func:`learning` builds one from a Spyglass. The algorithms live below: suggestions and related
files in :mod:`spyglass.recommend`, ranker training and its held-out gate in :mod:`spyglass.ranking.user_training`.

Every list returned here holds only documents the caller may read (checked in the catalog query). Another user's
activity reaches a caller only as counts over at least ``SHARED_MIN_USERS`` distinct users
(:mod:`spyglass.recommend.shared`), and a ranker trained on one user's activity ranks only that user's searches.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spyglass.core.acl import Principals
from spyglass.core.errors import NotFoundError, SpyglassError
from spyglass.index.activity import ActivityLog
from spyglass.index.catalog import acl_condition
from spyglass.ranking.personal import UsageCache
from spyglass.ranking.user_rankers import UserRankers
from spyglass.recommend.shared import SHARED_MIN_USERS

if TYPE_CHECKING:
    from spyglass.app.spyglass import Spyglass

INTERACTIONS = ("open", "click")  # a user chose a document (click labels for the ranker)
USES = INTERACTIONS + ("edit",)  # and edits (new content at a new modified time): what suggestions learn from
# (the same uses as spyglass.ranking.personal.USES, which the learned ranker's usage features read)

CandidateFeatures = Callable[[str, Principals, str], tuple[list[str], list[list[float]]]]
DocVectors = Callable[[Principals], tuple[list[str], Any]]


class Learning:
    def __init__(self, activity: ActivityLog, rankers: UserRankers, usage: UsageCache, *,
                 candidates: CandidateFeatures | None = None, doc_vectors: DocVectors | None = None,
                 log_enabled: bool = True, shared_min_users: int = SHARED_MIN_USERS) -> None:
        """``candidates(query, principals, user)``: a hybrid search's candidates and their feature rows (retrieval
        and context features) as that user sees them; ``doc_vectors(principals)``: unit document vectors of the
        readable files (for related files; None: by co-access only)."""
        self.activity, self.catalog = activity, activity.catalog
        self.rankers, self.usage = rankers, usage
        self.candidates, self.doc_vectors = candidates, doc_vectors
        self.log_enabled, self.k = log_enabled, shared_min_users

    # -- what a caller may read ------------------------------------------------------------------------------------
    def visible(self, ids: list[str], principals: Principals) -> set[str]:
        """The indexed documents among ``ids`` that ``principals`` may read."""
        if not ids:
            return set()
        cond, params = acl_condition(principals)
        out: set[str] = set()
        for k in range(0, len(ids), 500):
            part = ids[k : k + 500]
            out.update(r[0] for r in self.catalog.db.execute(
                f"SELECT i.id FROM items i WHERE i.id IN ({','.join('?' * len(part))}) "
                f"AND i.status IN ('ok', 'metadata') AND {cond}", part + params))
        return out

    def resolve(self, ref: str, principals: Principals) -> dict[str, Any]:
        """An indexed document the caller may read, by id or path (an unknown and a forbidden one fail alike)."""
        it = self.catalog.visible_item(ref, principals) if re.fullmatch(r"[0-9a-f]{16}", ref) else None
        if it is None:
            raw = os.fsencode(os.path.abspath(os.path.expanduser(ref)))
            r = self.catalog.db.execute("SELECT id FROM items WHERE path_raw = ? AND parent_id IS NULL "
                                        "AND status != 'deleted'", (raw,)).fetchone()
            it = self.catalog.visible_item(r[0], principals) if r else None
        if it is None:
            raise NotFoundError(f"{ref} is not an indexed document you can read")
        return it

    # -- the log ---------------------------------------------------------------------------------------------------
    def record_open(self, user: str, ref: str, principals: Principals) -> dict[str, Any]:
        """``ref``: a 1-based position in the user's last search, a document id or a path. Logs an ``open``."""
        search_id = position = None
        if ref.isdigit() and len(ref) < 6:
            last = self.activity.last_search(user)
            if last is None:
                raise SpyglassError("no search to open a result of: search first, or give a path")
            n = int(ref)
            if not 1 <= n <= len(last["ids"]):
                raise SpyglassError(f"the last search showed {len(last['ids'])} results")
            search_id, position, ref = last["id"], last["offset"] + n, last["ids"][n - 1]
        it = self.resolve(ref, principals)
        if self.log_enabled:
            self.activity.log_event(user, "open", it["id"], search_id, position)
        return it

    def record_event(self, user: str, kind: str, doc_id: str, principals: Principals, search_id: int | None = None,
                     position: int | None = None, dwell_s: float | None = None) -> int | None:
        """Log a click, open or dwell time on a readable document (None when ``[activity] enabled`` is off)."""
        it = self.resolve(doc_id, principals)
        if not self.log_enabled:
            return None
        if search_id is not None and self.activity.search(search_id, user) is None:
            search_id = position = None  # only the user's own searches: a foreign id is dropped, not trusted
        return self.activity.log_event(user, kind, it["id"], search_id, position, dwell_s)

    def clear(self, user: str | None) -> dict[str, int]:
        """Erase ``user``'s activity (None: everyone's) and every ranker trained on it."""
        erased = self.activity.clear(user)
        models = self.rankers.remove(user) if user is not None else self.rankers.remove_all()
        return {"erased": erased, "models_removed": models}

    def _uses(self) -> dict[str, list[tuple[float, str]]]:
        """Per user, their (time, document) opens, clicks and edits in time order."""
        per: dict[str, list[tuple[float, str]]] = {}
        for e in self.activity.events(kinds=USES):
            per.setdefault(e["user"], []).append((e["at"], e["item_id"]))
        return per

    # -- suggested and related files -------------------------------------------------------------------------------
    def suggest(self, user: str, principals: Principals, limit: int = 10) -> list[dict[str, Any]]:
        """What ``user`` is likely to open next (:mod:`spyglass.recommend.suggest`)."""
        from spyglass.recommend.suggest import suggest

        ranked = suggest(self._uses(), user, lambda ids: self.visible(ids, principals), time.time(), limit, self.k)
        info = self.catalog.items([i for i, _, _ in ranked])
        return [{"id": i, "path": info[i]["path"], "title": info[i]["title"] or info[i]["name"],
                 "type": info[i]["type"], "score": round(s, 4), "why": why} for i, s, why in ranked if i in info]

    def related(self, ref: str, principals: Principals, limit: int = 10, user: str | None = None) -> dict[str, Any]:
        """Documents related to ``ref`` (:mod:`spyglass.recommend.related`); ``user``: the caller, whose own uses
        count without the threshold between users."""
        from spyglass.recommend import related as rel

        it = self.resolve(ref, principals)
        content: dict[str, float] = {}
        if self.doc_vectors is not None:
            ids, x = self.doc_vectors(principals)
            content = rel.content(it["id"], ids, x, limit * 3)
        uses = {u: [i for _, i in evs] for u, evs in self._uses().items()}
        co = rel.co_access(it["id"], uses, user, self.k)
        ranked = rel.related(it["id"], content, co, lambda ids: self.visible(ids, principals), limit)
        info = self.catalog.items([i for i, _, _ in ranked])
        return {"id": it["id"], "path": it["path"], "related": [
            {"id": i, "path": info[i]["path"], "title": info[i]["title"] or info[i]["name"], "type": info[i]["type"],
             "score": round(s, 4), "signals": {k: round(v, 4) for k, v in sig.items()}}
            for i, s, sig in ranked if i in info]}

    # -- each user's ranker ----------------------------------------------------------------------------------------
    def searches(self, user: str) -> list[Any]:
        """The user's logged searches with the results they opened or clicked from each."""
        from spyglass.ranking.user_training import Search

        clicked: dict[int, set[str]] = {}
        for e in self.activity.events(user, kinds=INTERACTIONS):
            if e["search_id"] is not None:
                clicked.setdefault(e["search_id"], set()).add(e["item_id"])
        return [Search(s["id"], s["at"], s["query"], s["ids"], s["offset"], clicked.get(s["id"], set()))
                for s in self.activity.searches(user)]

    def train_ranker(self, user: str, principals: Principals, force: bool = False) -> dict[str, Any]:
        """Train ``user``'s ranker on their earlier searches, measure it against plain hybrid on their latest ones,
        and deploy it only on a gain (or with ``force``) — :mod:`spyglass.ranking.user_training`."""
        from spyglass.ranking.user_training import train_user_ranker

        if self.candidates is None:
            raise SpyglassError("no candidate features to train on: this index has no vectors yet (run `spyglass "
                                "index`)")
        searches = self.searches(user)
        if not searches:
            raise SpyglassError(f"no searches logged for {user} yet: search, open results (`spyglass open N`), then "
                                "run `spyglass train ranker`")
        folder = self.rankers.folder(user)  # made by the trainer when it writes the model
        out = folder / f"ranker-{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 1_000_000:06d}.txt"
        candidates = self.candidates
        try:
            res = train_user_ranker(user, searches, lambda q: candidates(q, principals, user), self.usage.current(),
                                    out, force)
        except BaseException:
            _discard(out)
            raise
        if res["deploy"]:
            self.rankers.deploy(user, out, {k: v for k, v in res.items() if k not in ("deploy", "gain")})
            res["model"] = out.name
        else:
            _discard(out)
            res["model"] = None
        res["deployed"] = res.pop("deploy")
        return res


def _discard(model: Path) -> None:
    """Delete a ranker that is not deployed (and its folder, when nothing else is in it)."""
    model.unlink(missing_ok=True)
    model.with_suffix(".json").unlink(missing_ok=True)
    if model.parent.is_dir() and not any(model.parent.iterdir()):
        model.parent.rmdir()


# -- composition ---------------------------------------------------------------------------------------------------
def learning(sg: Spyglass) -> Learning:
    """The learning service over ``sg``'s data directory."""
    parts = sg.parts
    return Learning(parts.activity(), parts.user_rankers(), UsageCache(parts.activity()),
                    candidates=lambda q, p, u: candidate_features(parts, q, p, u),
                    doc_vectors=lambda p: _doc_vectors(sg, p), log_enabled=sg.config.activity.enabled)


def candidate_features(parts: Any, query: str, principals: Principals, user: str | None = None
                       ) -> tuple[list[str], list[list[float]]]:
    """A hybrid search's candidates as ``principals`` see them, with their retrieval and context feature rows — the
    query read as typed, or as plain words when it no longer parses (a source or filter since removed)."""
    from spyglass.app.search import make_request

    parts.dense(required=True)  # the features need vectors
    try:
        request = make_request(parts, query, principals=principals, mode="hybrid", snippets=False, rerank="none",
                               user=user)
    except SpyglassError:
        request = make_request(parts, query, principals=principals, mode="hybrid", snippets=False, rerank="none",
                               user=user, syntax="plain")
    pipeline = parts.pipeline()
    hits, rows = pipeline.rerankers["ltr"].features(request, pipeline.candidates(request), context=True)
    return [h.id for h in hits], rows


def _doc_vectors(sg: Spyglass, principals: Principals) -> tuple[list[str], Any]:
    from spyglass.app.organize import Organizer

    org = Organizer(sg)  # until organize hands out a document-vector function of its own
    try:
        return org.doc_vectors([f["id"] for f in org.store.files(principals)])
    finally:
        org.close()
