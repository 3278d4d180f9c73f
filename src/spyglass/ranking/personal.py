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
import threading
from collections import Counter, defaultdict

from spyglass.index.activity import ActivityLog

PERSONAL = ["user_uses", "user_folder_uses", "popularity", "co_access", "age_days"]
RECENT = 10
USES = ("open", "click", "edit")  # what counts as a use of a document


class _State:
    """Aggregates of the uses replayed so far."""

    def __init__(self) -> None:
        self.users_of: dict[str, set[str]] = defaultdict(set)
        self.uses: dict[str, Counter] = defaultdict(Counter)  # user -> document -> count
        self.folder_uses: dict[str, Counter] = defaultdict(Counter)  # user -> folder -> count
        self.recent: dict[str, list[str]] = defaultdict(list)  # user -> last RECENT distinct documents
        self.pos = 0

    def add(self, user: str, item: str, folder: str) -> None:
        self.users_of[item].add(user)
        self.uses[user][item] += 1
        self.folder_uses[user][folder] += 1
        r = self.recent[user]
        if item in r:
            r.remove(item)
        r.append(item)
        if len(r) > RECENT:
            del r[0]


class Usage:
    def __init__(self, events: list[tuple[str, float, str]], folders: dict[str, str], modified: dict[str, float]) -> None:
        """``events``: (user, time, document) uses; ``folders`` and ``modified`` per document (missing: unknown)."""
        self.events = sorted(events, key=lambda e: e[1])
        self.times = [e[1] for e in self.events]
        self.folders = folders
        self.modified = modified
        self._state = _State()
        self._lock = threading.Lock()  # searches in several threads replay and read the same state

    def extend(self, events: list[tuple[str, float, str]]) -> None:
        """Append uses that are not older than the last one (else build a new :class:`Usage`)."""
        events = sorted(events, key=lambda e: e[1])
        with self._lock:
            if events and self.times and events[0][1] < self.times[-1]:
                raise ValueError("events out of time order: build a new Usage")
            self.events.extend(events)
            self.times.extend(e[1] for e in events)

    @staticmethod
    def folder_of(path: str) -> str:
        return posixpath.dirname(path)

    def _at(self, as_of: float) -> _State:
        """The aggregates of the uses before ``as_of``. Replays forward from the last call, so a sequence of calls
        in time order (training) costs one pass over the log, and calls at "now" (search) cost nothing more."""
        end = bisect.bisect_left(self.times, as_of)
        if end < self._state.pos:
            self._state = _State()
        st = self._state
        for u, _at, item in self.events[st.pos : end]:
            st.add(u, item, self.folders.get(item, ""))
        st.pos = end
        return st

    def rows(self, user: str | None, ids: list[str], as_of: float) -> list[list[float]]:
        """One row of :data:`PERSONAL` per document, from the uses before ``as_of``."""
        with self._lock:
            return self._rows(user, ids, as_of)

    def _rows(self, user: str | None, ids: list[str], as_of: float) -> list[list[float]]:
        st = self._at(as_of)
        mine = st.uses.get(user or "", Counter())
        mine_folders = st.folder_uses.get(user or "", Counter())
        recent = st.recent.get(user or "", [])
        out = []
        for i in ids:
            ui = st.users_of.get(i, set())
            co = 0.0
            if ui:
                for j in recent:
                    if j != i:
                        uj = st.users_of[j]
                        co = max(co, len(ui & uj) / math.sqrt(len(ui) * len(uj)))
            mod = self.modified.get(i)
            age = max(0.0, (as_of - mod) / 86400) if mod else 0.0
            out.append([math.log1p(mine[i]), math.log1p(mine_folders[self.folders[i]]) if i in self.folders else 0.0,
                        math.log1p(len(ui)), co, math.log1p(age)])
        return out


_CACHE: dict[str, tuple[tuple[int, int], Usage]] = {}
_CACHE_LOCK = threading.Lock()  # the server's request threads share one cache per catalog


class UsageCache:
    """:class:`Usage` over a whole activity log, kept per catalog and extended with the events logged since the last
    call; rebuilt when events were erased or one arrives out of time order (an edit found later)."""

    def __init__(self, log: ActivityLog) -> None:
        self.log = log
        self.key = str(log.catalog.path)

    def current(self) -> Usage:
        with _CACHE_LOCK:
            return self._current()

    def _current(self) -> Usage:
        marks = self.log.use_marks(USES)
        (last_id, last_count), u = _CACHE.get(self.key, ((0, 0), None))
        if u is not None and marks == (last_id, last_count):
            return u
        fresh = self.log.uses_after(USES, last_id)
        if u is None or marks[1] != last_count + len(fresh) or (fresh and u.times and
                                                                 min(e[1] for e in fresh) < u.times[-1]):
            fresh, u = self.log.uses_after(USES), Usage([], {}, {})
        info = self.log.catalog.items(sorted({e[2] for e in fresh} - set(u.folders)))
        u.folders.update({i: Usage.folder_of(it["path"]) for i, it in info.items()})
        u.modified.update({i: it["modified"] for i, it in info.items() if it["modified"]})
        u.extend(fresh)
        _CACHE[self.key] = (marks, u)
        return u
