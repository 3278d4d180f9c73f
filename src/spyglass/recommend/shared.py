"""Privacy between users: what other users' activity may contribute to one user's suggestions, related files and
ranking features — counts over at least ``k`` distinct *other* users, never one user's choices (k-anonymity over
users; Sweeney, "k-anonymity: a model for protecting privacy", 2002).

For a caller ``c`` and a document ``i``, let ``O_i`` be the users other than ``c`` who used ``i`` (opened, clicked or
edited it). With ``k = SHARED_MIN_USERS``:

* ``i`` is **shared** when ``|O_i| ≥ k``; only shared documents enter a model fitted across users (item-kNN, the
  Markov chain, ALS) — another user's use of any other document is dropped before fitting;
* a **pair** ``(i, j)`` counts as co-accessed by others only when ``|O_i ∩ O_j| ≥ k`` (and a transition ``i → j`` of
  the Markov chain only when ``k`` distinct other users made it);
* the caller's own uses always count (they are theirs).

So below the threshold another user's clicks change nothing the caller sees, byte for byte; above it, what reaches
the caller is a count over at least ``k`` people.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

SHARED_MIN_USERS = 3  # k: distinct other users before a document or a pair carries any signal across users


def others_of(per_user: Mapping[str, Sequence[str]], caller: str | None) -> dict[str, set[str]]:
    """``O_i``: per document, the users other than ``caller`` who used it."""
    out: dict[str, set[str]] = {}
    for user, items in per_user.items():
        if user != caller:
            for i in items:
                out.setdefault(i, set()).add(user)
    return out


def shared_items(others: Mapping[str, set[str]], k: int = SHARED_MIN_USERS) -> set[str]:
    """The documents at least ``k`` other users used."""
    return {i for i, us in others.items() if len(us) >= k}


def others_view(per_user: Mapping[str, Sequence[str]], caller: str | None,
                k: int = SHARED_MIN_USERS) -> dict[str, list[str]]:
    """Every other user's sequence restricted to shared documents (users left with nothing are dropped)."""
    shared = shared_items(others_of(per_user, caller), k)
    out = {}
    for user, items in per_user.items():
        if user != caller:
            kept = [i for i in items if i in shared]
            if kept:
                out[user] = kept
    return out


def pair_count(a: set[str], b: set[str], k: int = SHARED_MIN_USERS) -> int:
    """``|a ∩ b|`` when at least ``k``, else 0 (``a``, ``b``: other users of two documents)."""
    n = len(a & b)
    return n if n >= k else 0
