"""Usage features of a (user, document) pair for the ranker trained from the activity log.

Computed from the log's opens, clicks and edits *before* a given time (so a training row never sees the click it is
labelled with), over documents the retrieval stage already filtered by the caller's principals:

| feature | meaning |
|---|---|
| ``user_uses`` | log(1 + the user's opens, clicks and edits of the document) |
| ``user_folder_uses`` | log(1 + the user's uses of documents in the same folder) |
| ``popularity`` | log(1 + distinct users who used the document) |
| ``co_access`` | max over the user's last 10 documents *j* of the item-item cosine ``|U_i ∩ U_j| / sqrt(|U_i| |U_j|)``, *U* the users who used a document (Sarwar et al. 2001) |
| ``age_days`` | log(1 + days from the document's modification to that time) |
"""

from __future__ import annotations

import bisect
import math
import posixpath
from collections import Counter, defaultdict

PERSONAL = ["user_uses", "user_folder_uses", "popularity", "co_access", "age_days"]
RECENT = 10


class Usage:
    def __init__(self, events: list[tuple[str, float, str]], folders: dict[str, str], modified: dict[str, float]) -> None:
        """``events``: (user, time, document) uses; ``folders`` and ``modified`` per document (missing: unknown)."""
        self.events = sorted(events, key=lambda e: e[1])
        self.times = [e[1] for e in self.events]
        self.folders = folders
        self.modified = modified

    @staticmethod
    def folder_of(path: str) -> str:
        return posixpath.dirname(path)

    def rows(self, user: str | None, ids: list[str], as_of: float) -> list[list[float]]:
        """One row of :data:`PERSONAL` per document, from the uses before ``as_of``."""
        past = self.events[: bisect.bisect_left(self.times, as_of)]
        users_of: dict[str, set[str]] = defaultdict(set)
        mine: Counter = Counter()
        mine_folders: Counter = Counter()
        recent: list[str] = []
        for u, _at, item in past:
            users_of[item].add(u)
            if u == user:
                mine[item] += 1
                mine_folders[self.folders.get(item, "")] += 1
                if item in recent:
                    recent.remove(item)
                recent.append(item)
        recent = recent[-RECENT:]
        out = []
        for i in ids:
            ui = users_of.get(i, set())
            co = 0.0
            for j in recent:
                if j != i and ui:
                    uj = users_of[j]
                    co = max(co, len(ui & uj) / math.sqrt(len(ui) * len(uj)))
            mod = self.modified.get(i)
            age = max(0.0, (as_of - mod) / 86400) if mod else 0.0
            out.append([math.log1p(mine[i]), math.log1p(mine_folders[self.folders[i]]) if i in self.folders else 0.0,
                        math.log1p(len(ui)), co, math.log1p(age)])
        return out
