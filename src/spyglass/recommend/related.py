"""Related files: content similarity plus co-access, among what the caller may read.

``score(t, i) = cos(v_t, v_i) + co(t, i)`` where ``v`` is a document's unit mean passage embedding and ``co`` the
cosine of the sets of users who used both, ``co(t, i) = n_ti / sqrt(n_t · n_i)``. Following
:mod:`spyglass.recommend.shared`, ``n`` counts the caller's own use (0 or 1) plus the other users — for ``n_ti`` only
when at least ``k`` others used both documents, for ``n_t`` and ``n_i`` only when at least ``k`` others used it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from spyglass.recommend.shared import SHARED_MIN_USERS, others_of, pair_count


def content(target: str, ids: list[str], vectors: Any, limit: int) -> dict[str, float]:
    """The ``limit`` documents whose vectors (rows of ``vectors``, unit length, in ``ids`` order) are closest to
    ``target``'s."""
    if target not in ids:
        return {}
    sims = vectors @ vectors[ids.index(target)]
    return {ids[j]: float(sims[j]) for j in sims.argsort()[::-1][: limit + 1] if ids[j] != target}


def co_access(target: str, uses: Mapping[str, Sequence[str]], caller: str | None,
              k: int = SHARED_MIN_USERS) -> dict[str, float]:
    """``co(target, i)`` for every ``i`` with a count."""
    others = others_of(uses, caller)
    mine = set(uses.get(caller, ())) if caller is not None else set()

    def n(i: str) -> int:
        o = len(others.get(i, ()))
        return int(i in mine) + (o if o >= k else 0)

    n_t = n(target)
    if not n_t:
        return {}
    o_t = others.get(target, set())
    out = {}
    for i in (mine | set(others)) - {target}:
        both = int(target in mine and i in mine) + pair_count(o_t, others.get(i, set()), k)
        if both:
            out[i] = both / math.sqrt(n_t * n(i))
    return out


def related(target: str, content_scores: dict[str, float], co: dict[str, float],
            visible: Callable[[list[str]], set[str]], limit: int = 10) -> list[tuple[str, float, dict[str, float]]]:
    """``(document, score, signals)``, best first, only what ``visible`` allows."""
    scores: dict[str, dict[str, float]] = {}
    for i, s in content_scores.items():
        scores.setdefault(i, {})["content"] = s
    readable = visible(list(co))
    for i, s in co.items():
        if i in readable and i != target:
            scores.setdefault(i, {})["co_access"] = s
    ranked = sorted(scores.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))[:limit]
    return [(i, sum(s.values()), s) for i, s in ranked]
