"""The activity log: searches with the results shown, and opens, clicks, dwell times and edits, per user.

It lives in the catalog database, stays on this machine, and is read only by the ranking and recommendation code and
by its own user (``spyglass activity``). Reads that reach other users' activity (popularity, co-access) are aggregate
counts over documents the caller may read.
"""

from __future__ import annotations

import json
import time
from typing import Any

from spyglass.index.catalog import Catalog

EVENT_KINDS = ("click", "open", "dwell", "edit")


class ActivityLog:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.db = catalog.db

    def log_search(self, user: str, query: str, mode: str | None, shown: list[str], offset: int = 0) -> int:
        cur = self.db.execute("INSERT INTO activity_searches(user, at, query, mode, shown) VALUES (?,?,?,?,?)",
                              (user, time.time(), query[:2000], mode, json.dumps({"offset": offset, "ids": shown})))
        return int(cur.lastrowid)

    def search(self, search_id: int, user: str) -> dict[str, Any] | None:
        r = self.db.execute("SELECT id, at, query, mode, shown FROM activity_searches WHERE id = ? AND user = ?",
                            (search_id, user)).fetchone()
        if r is None:
            return None
        shown = json.loads(r[4])
        return {"id": r[0], "at": r[1], "query": r[2], "mode": r[3], "offset": shown["offset"], "ids": shown["ids"]}

    def last_search(self, user: str) -> dict[str, Any] | None:
        r = self.db.execute("SELECT id FROM activity_searches WHERE user = ? ORDER BY id DESC LIMIT 1",
                            (user,)).fetchone()
        return self.search(r[0], user) if r else None

    def log_event(self, user: str, kind: str, item_id: str, search_id: int | None = None,
                  position: int | None = None, dwell_s: float | None = None, at: float | None = None) -> int:
        if kind not in EVENT_KINDS:
            raise ValueError(f"event kind must be one of {EVENT_KINDS}")
        cur = self.db.execute(
            "INSERT INTO activity_events(user, at, kind, item_id, search_id, position, dwell_s) VALUES (?,?,?,?,?,?,?)",
            (user, time.time() if at is None else at, kind, item_id, search_id, position, dwell_s))
        return int(cur.lastrowid)

    def events(self, user: str | None = None, kinds: tuple[str, ...] = EVENT_KINDS,
               limit: int = 100_000) -> list[dict[str, Any]]:
        q = f"SELECT id, user, at, kind, item_id, search_id, position, dwell_s FROM activity_events WHERE kind IN " \
            f"({','.join('?' * len(kinds))})" + (" AND user = ?" if user else "") + " ORDER BY at, id LIMIT ?"
        cur = self.db.execute(q, list(kinds) + ([user] if user else []) + [limit])
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r)) for r in cur]

    def searches(self, user: str | None = None, limit: int = 100_000) -> list[dict[str, Any]]:
        q = "SELECT id, user, at, query, mode, shown FROM activity_searches" + (" WHERE user = ?" if user else "") \
            + " ORDER BY id LIMIT ?"
        out = []
        for r in self.db.execute(q, ([user] if user else []) + [limit]):
            shown = json.loads(r[5])
            out.append({"id": r[0], "user": r[1], "at": r[2], "query": r[3], "mode": r[4],
                        "offset": shown["offset"], "ids": shown["ids"]})
        return out

    def use_marks(self, kinds: tuple[str, ...]) -> tuple[int, int]:
        """(largest id, number) of the events of ``kinds``: tells whether anything was logged or erased since."""
        marks = ",".join("?" * len(kinds))
        r = self.db.execute(f"SELECT coalesce(max(id), 0), count(*) FROM activity_events WHERE kind IN ({marks})",
                            list(kinds)).fetchone()
        return int(r[0]), int(r[1])

    def uses_after(self, kinds: tuple[str, ...], after_id: int = 0) -> list[tuple[str, float, str]]:
        """(user, time, document) of the events of ``kinds`` with an id above ``after_id``."""
        marks = ",".join("?" * len(kinds))
        return [(r[0], r[1], r[2]) for r in self.db.execute(
            f"SELECT user, at, item_id FROM activity_events WHERE kind IN ({marks}) AND id > ?", [*kinds, after_id])]

    def marks(self) -> tuple[int, int]:
        """(last search id, last event id): where :meth:`items_after` starts next time."""
        a = self.db.execute("SELECT coalesce(max(id), 0) FROM activity_searches").fetchone()[0]
        b = self.db.execute("SELECT coalesce(max(id), 0) FROM activity_events").fetchone()[0]
        return int(a), int(b)

    def items_after(self, marks: tuple[int, int]) -> tuple[list[str], tuple[int, int]]:
        """Documents shown in searches or opened since ``marks`` (any user), and the new marks."""
        items: set[str] = set()
        last_s, last_e = marks
        for sid, shown in self.db.execute("SELECT id, shown FROM activity_searches WHERE id > ?", (last_s,)):
            items.update(json.loads(shown)["ids"])
            last_s = max(last_s, sid)
        for eid, iid in self.db.execute("SELECT id, item_id FROM activity_events WHERE id > ?", (last_e,)):
            items.add(iid)
            last_e = max(last_e, eid)
        return sorted(items), (last_s, last_e)

    def clear(self, user: str | None = None) -> int:
        n = 0
        for table in ("activity_events", "activity_searches"):
            sql = f"DELETE FROM {table}" + (" WHERE user = ?" if user else "")
            n += self.db.execute(sql, (user,) if user else ()).rowcount
        return n

    def counts(self, user: str | None = None) -> dict[str, int]:
        w, p = (" WHERE user = ?", (user,)) if user else ("", ())
        return {"searches": self.db.execute(f"SELECT count(*) FROM activity_searches{w}", p).fetchone()[0],
                "events": self.db.execute(f"SELECT count(*) FROM activity_events{w}", p).fetchone()[0]}
