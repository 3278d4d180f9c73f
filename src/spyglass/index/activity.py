"""The activity log: searches with the results shown, and opens, clicks, dwell times and edits, per user.

It lives in the catalog database, stays on this machine, and is read only by the ranking and recommendation code and
by its own user (``spyglass activity``). Reads that reach other users' activity (popularity, co-access) are aggregate
counts over documents the caller may read.

Searches are logged without a write on the search's path: :meth:`ActivityLog.log_search` gives the search its id at
once and hands the row to one background writer per catalog (:class:`SearchWriter`), which inserts queued rows in
batches on its own connection. A busy catalog (``spyglass index`` running in another process holds the write lock)
only delays the batch; rows still queued when the process exits, and the catalog stays busy, are kept in
``activity-spool.jsonl`` beside the catalog (0600) and written by the next writer. Reads of the log flush the queue
first, so a search is readable as soon as its id is known. Ids are unique across processes and increase with time:

    id = (max(previous slot + 1, ⌊ms since 2024 × 64⌋) · 16) + pid mod 16      (< 2^53, exact in JSON/JavaScript)
"""

from __future__ import annotations

import atexit
import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

from spyglass.index.catalog import Catalog

EPOCH_MS = 1_704_067_200_000  # 2024-01-01 UTC
BATCH_S = 0.25  # the writer's pause between batches
MAX_QUEUED = 100_000  # rows kept in memory while the catalog is busy; older ones go to the spool file
SPOOL = "activity-spool.jsonl"
_INSERT = "INSERT OR IGNORE INTO activity_searches(id, user, at, query, mode, shown) VALUES (?,?,?,?,?,?)"


class SearchWriter:
    """Queues search rows and inserts them in batches from a daemon thread; never raises into a search."""

    _by_path: ClassVar[dict[Path, SearchWriter]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def for_catalog(cls, path: Path) -> SearchWriter:
        with cls._lock:
            w = cls._by_path.get(path)
            if w is None or w._pid != os.getpid():  # a forked worker starts its own
                w = cls._by_path[path] = SearchWriter(path)
            return w

    def __init__(self, path: Path) -> None:
        self.path = path
        self.spool = path.parent / SPOOL
        self._pid = os.getpid()
        self._rows: list[tuple] = []
        self._cv = threading.Condition()
        self._slot = 0
        self._write_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="spyglass-activity", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def next_id(self) -> int:
        with self._cv:
            self._slot = max(self._slot + 1, int((time.time() * 1000 - EPOCH_MS) * 64))
            return self._slot * 16 + self._pid % 16

    def put(self, row: tuple) -> None:
        with self._cv:
            self._rows.append(row)
            if len(self._rows) > MAX_QUEUED:
                self._to_spool(self._rows[: len(self._rows) - MAX_QUEUED])
                del self._rows[: len(self._rows) - MAX_QUEUED]
            self._cv.notify()

    def flush(self, busy_timeout_s: float = 30.0) -> bool:
        """Write every queued (and spooled) row now; False when the catalog stayed busy (the rows stay queued)."""
        with self._write_lock:
            with self._cv:
                rows, self._rows = self._rows, []
            rows = self._from_spool() + rows
            if not rows:
                return True
            try:
                db = sqlite3.connect(f"file:{self.path}?mode=rw", uri=True, timeout=busy_timeout_s,
                                     isolation_level=None)  # never creates a catalog that is gone
                try:
                    db.execute("BEGIN IMMEDIATE")
                    db.executemany(_INSERT, rows)
                    db.execute("COMMIT")
                finally:
                    db.close()
                return True
            except sqlite3.Error:
                with self._cv:
                    self._rows[:0] = rows  # kept, in order, for the next batch
                return False

    def close(self) -> None:
        """At exit: a last short try, then the spool file (a busy catalog must not hold up the process)."""
        if not self.flush(busy_timeout_s=1.0):
            with self._cv:
                rows, self._rows = self._rows, []
            self._to_spool(rows)

    def _run(self) -> None:
        while True:
            with self._cv:
                self._cv.wait_for(lambda: bool(self._rows), timeout=60)
            time.sleep(BATCH_S)  # gather a batch
            if not self.flush():
                time.sleep(1.0)  # busy: try again later, the rows are queued

    def _to_spool(self, rows: list[tuple]) -> None:
        if not rows:
            return
        try:
            fd = os.open(self.spool, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a") as fh:
                fh.writelines(json.dumps(list(r)) + "\n" for r in rows)
        except OSError:  # nowhere to keep them: the log is informational, the search already succeeded
            pass

    def _from_spool(self) -> list[tuple]:
        if not self.spool.exists():
            return []
        taken = self.spool.with_name(f"{SPOOL}.{os.getpid()}")
        try:
            os.replace(self.spool, taken)
            rows = [tuple(json.loads(line)) for line in taken.read_text().splitlines() if line.strip()]
            taken.unlink()
            return rows
        except (OSError, ValueError):
            return []

EVENT_KINDS = ("click", "open", "dwell", "edit")


class ActivityLog:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.db = catalog.db

    @property
    def writer(self) -> SearchWriter:
        return SearchWriter.for_catalog(Path(self.catalog.path))

    def log_search(self, user: str, query: str, mode: str | None, shown: list[str], offset: int = 0) -> int:
        """Queue the search for the background writer and return its id (no write on the search's path)."""
        w = self.writer
        sid = w.next_id()
        w.put((sid, user, time.time(), query[:2000], mode, json.dumps({"offset": offset, "ids": shown})))
        return sid

    def flush(self) -> None:
        """Write the queued searches (reads of the log call it, so they see every search made so far)."""
        if Path(self.catalog.path) in SearchWriter._by_path:
            self.writer.flush()

    def search(self, search_id: int, user: str) -> dict[str, Any] | None:
        self.flush()
        r = self.db.execute("SELECT id, at, query, mode, shown FROM activity_searches WHERE id = ? AND user = ?",
                            (search_id, user)).fetchone()
        if r is None:
            return None
        shown = json.loads(r[4])
        return {"id": r[0], "at": r[1], "query": r[2], "mode": r[3], "offset": shown["offset"], "ids": shown["ids"]}

    def last_search(self, user: str) -> dict[str, Any] | None:
        self.flush()
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
        self.flush()
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
        self.flush()
        n = 0
        for table in ("activity_events", "activity_searches"):
            sql = f"DELETE FROM {table}" + (" WHERE user = ?" if user else "")
            n += self.db.execute(sql, (user,) if user else ()).rowcount
        return n

    def counts(self, user: str | None = None) -> dict[str, int]:
        self.flush()
        w, p = (" WHERE user = ?", (user,)) if user else ("", ())
        return {"searches": self.db.execute(f"SELECT count(*) FROM activity_searches{w}", p).fetchone()[0],
                "events": self.db.execute(f"SELECT count(*) FROM activity_events{w}", p).fetchone()[0]}
