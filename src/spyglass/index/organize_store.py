"""Catalog tables for organization: topics, per-document term counts (for labels) and tags.

Every read takes the caller's principals and applies them in the SQL, like the rest of the catalog: a topic's size
and label, a tag list or a file list only ever count documents the caller may read.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from spyglass.core.acl import Principals
from spyglass.index.catalog import Catalog, acl_condition

TAG_ORIGINS = ("user", "accepted", "rejected", "plan")


def acl_sql(principals: Principals, alias: str = "i") -> tuple[str, list[str]]:
    """``(" AND <condition>", params)``: :func:`spyglass.index.catalog.acl_condition` as a clause to append."""
    cond, params = acl_condition(principals, alias)
    return f" AND {cond}", params


class OrganizeStore:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.db = catalog.db
        self._add_tag_author()

    def _add_tag_author(self) -> None:
        """Catalogs from before tag authors get the column (NULL: removable by an admin only)."""
        if "author" not in {r[1] for r in self.db.execute("PRAGMA table_info(tags)")}:
            try:
                self.db.execute("ALTER TABLE tags ADD COLUMN author TEXT")
            except sqlite3.OperationalError:  # a read-only handle: tags are only read through it
                pass

    # -- documents ------------------------------------------------------------------------------------------
    def files(self, principals: Principals, with_text: bool = False) -> list[dict[str, Any]]:
        """Top-level indexed files the caller may read (not attachments or messages inside them)."""
        acl, params = acl_sql(principals)
        cur = self.db.execute(
            "SELECT i.id, i.source_id, i.path, i.path_raw, i.name, i.title, i.type, i.size, i.mtime_ns, i.modified, "
            "i.content_hash, json_extract(i.meta, '$.dhash') AS dhash, s.root AS source_root "
            "FROM items i JOIN sources s ON s.id = i.source_id "
            f"WHERE i.parent_id IS NULL AND i.status IN ('ok', 'metadata'){acl} ORDER BY i.path", params)
        cols = [d[0] for d in cur.description]
        rows = [dict(zip(cols, r)) for r in cur]
        if with_text:
            texts = self.texts([r["id"] for r in rows])
            for r in rows:
                r["text"] = texts.get(r["id"], "")
        return rows

    def texts(self, ids: list[str], max_chars: int = 200_000) -> dict[str, str]:
        """Each item's text (its passages in order, capped), including what its attachments hold."""
        out: dict[str, list[str]] = {i: [] for i in ids}
        for k in range(0, len(ids), 500):
            part = ids[k : k + 500]
            q = ",".join("?" * len(part))
            for iid, text in self.db.execute(
                    f"SELECT item_id, text FROM chunks WHERE item_id IN ({q}) ORDER BY item_id, ord", part):
                out[iid].append(text)
        return {i: "\n".join(t)[:max_chars] for i, t in out.items()}

    # -- topics ---------------------------------------------------------------------------------------------
    def replace_topics(self, assignments: dict[str, tuple[int, float]], terms: dict[str, dict[str, int]]) -> None:
        now = time.time()
        sizes: dict[int, int] = {}
        for t, _ in assignments.values():
            sizes[t] = sizes.get(t, 0) + 1
        self.catalog.begin()
        try:
            for table in ("topics", "item_topics", "item_terms"):
                self.db.execute(f"DELETE FROM {table}")
            self.db.executemany("INSERT INTO topics(id, size, built) VALUES (?,?,?)",
                                [(t, n, now) for t, n in sorted(sizes.items())])
            self.db.executemany("INSERT INTO item_topics(item_id, topic_id, score) VALUES (?,?,?)",
                                [(i, t, s) for i, (t, s) in assignments.items()])
            self.db.executemany("INSERT INTO item_terms(item_id, term, n) VALUES (?,?,?)",
                                [(i, w, n) for i, c in terms.items() for w, n in c.items()])
            self.catalog.commit()
        except BaseException:
            self.catalog.rollback()
            raise

    def topic_name(self, key: str) -> str | None:
        try:
            r = self.db.execute("SELECT name FROM topic_names WHERE key = ?", (key,)).fetchone()
        except sqlite3.OperationalError:  # a catalog from before topic names (a reader does not migrate)
            return None
        return r[0] if r else None

    def set_topic_name(self, key: str, name: str) -> None:
        try:
            self.db.execute("INSERT OR REPLACE INTO topic_names(key, name, made) VALUES (?,?,?)", (key, name, time.time()))
        except sqlite3.OperationalError:
            pass  # read-only or old catalog: the name is just not cached

    def topics_built(self) -> float | None:
        r = self.db.execute("SELECT max(built) FROM topics").fetchone()
        return r[0] if r else None

    def topic_members(self, principals: Principals) -> dict[int, list[str]]:
        acl, params = acl_sql(principals)
        out: dict[int, list[str]] = {}
        for t, iid in self.db.execute(
                "SELECT it.topic_id, it.item_id FROM item_topics it JOIN items i ON i.id = it.item_id "
                f"WHERE i.status IN ('ok', 'metadata'){acl} ORDER BY it.topic_id, it.score DESC", params):
            out.setdefault(t, []).append(iid)
        return out

    def topic_term_counts(self, principals: Principals) -> dict[int, dict[str, int]]:
        """Summed term counts per topic over the documents the caller may read (labels never use other ones)."""
        acl, params = acl_sql(principals)
        out: dict[int, dict[str, int]] = {}
        for t, term, n in self.db.execute(
                "SELECT it.topic_id, w.term, sum(w.n) FROM item_topics it JOIN items i ON i.id = it.item_id "
                "JOIN item_terms w ON w.item_id = it.item_id "
                f"WHERE i.status IN ('ok', 'metadata'){acl} GROUP BY 1, 2", params):
            out.setdefault(t, {})[term] = n
        return out

    def items_in_topics(self, topics: list[int]) -> list[str]:
        q = ",".join("?" * len(topics)) or "NULL"
        return [r[0] for r in self.db.execute(f"SELECT item_id FROM item_topics WHERE topic_id IN ({q})", topics)]

    # -- tags -----------------------------------------------------------------------------------------------
    def set_tag(self, iid: str, tag: str, origin: str, author: str | None = None) -> None:
        """Set a tag; the first author keeps it (a second user setting the same tag changes only its origin)."""
        if origin not in TAG_ORIGINS:
            raise ValueError(f"tag origin must be one of {TAG_ORIGINS}")
        self.db.execute("INSERT INTO tags(item_id, tag, origin, at, author) VALUES (?,?,?,?,?) ON CONFLICT(item_id, tag) "
                        "DO UPDATE SET origin = excluded.origin, at = excluded.at",
                        (iid, tag, origin, time.time(), author))

    def tag_author(self, iid: str, tag: str) -> tuple[bool, str | None]:
        """``(exists, author)`` of one tag on one document."""
        r = self.db.execute("SELECT author FROM tags WHERE item_id = ? AND tag = ?", (iid, tag)).fetchone()
        return (r is not None, r[0] if r else None)

    def remove_tag(self, iid: str, tag: str, origin: str | None = None) -> bool:
        sql = "DELETE FROM tags WHERE item_id = ? AND tag = ?" + (" AND origin = ?" if origin else "")
        return self.db.execute(sql, (iid, tag, origin) if origin else (iid, tag)).rowcount > 0

    def tags(self, principals: Principals, iid: str | None = None) -> list[tuple[str, str, str]]:
        """``(item id, tag, origin)`` rows on documents the caller may read."""
        acl, params = acl_sql(principals)
        where = " AND t.item_id = ?" if iid else ""
        return [tuple(r) for r in self.db.execute(
            "SELECT t.item_id, t.tag, t.origin FROM tags t JOIN items i ON i.id = t.item_id "
            f"WHERE i.status IN ('ok', 'metadata'){where}{acl} ORDER BY t.tag, t.item_id",
            ([iid] if iid else []) + params)]

    def items_with_tag(self, tag: str) -> list[str]:
        return [r[0] for r in self.db.execute(
            "SELECT item_id FROM tags WHERE tag = ? AND origin IN ('user', 'accepted', 'plan')", (tag,))]
