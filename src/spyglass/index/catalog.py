"""The catalog: SQLite in WAL mode. Sources, items (files and the documents inside them), their passages, access
principals, extraction status and errors, and index runs. It is the source of truth for what the lexical and vector
indexes should contain: those are rebuilt from it without re-reading any file."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any

from spyglass.core import acl
from spyglass.core.ids import item_id
from spyglass.core.types import Chunk

CATALOG_SCHEMA = 3


def acl_condition(principals: acl.Principals, alias: str = "i") -> tuple[str, list[str]]:
    """The one SQL rule of access, used by every store: ``(condition, params)`` true for the rows of ``items``
    (alias ``alias``) that ``principals`` may read. :data:`~spyglass.core.acl.EVERYTHING` gives ``1``; an empty list
    gives ``0`` (sees nothing); ``None`` is refused (:func:`spyglass.core.acl.require`)."""
    p = acl.require(principals)
    if isinstance(p, acl.Everything):
        return "1", []
    if not p:
        return "0", []
    marks = ",".join("?" * len(p))
    return f"EXISTS (SELECT 1 FROM acl a WHERE a.item_id = {alias}.id AND a.principal IN ({marks}))", list(p)


@dataclass(slots=True)
class Source:
    id: int
    kind: str
    root: str
    name: str
    added: float
    last_indexed: float | None


@dataclass(slots=True, frozen=True)
class FileState:
    """What the catalog holds of a file of a source (a top-level item): the change detection's input."""

    id: str
    size: int
    mtime_ns: int
    content_hash: str | None
    status: str  # ok | metadata | error
    error_kind: str | None


@dataclass(slots=True)
class ItemRecord:
    """One row of ``items`` as the indexer writes it: a file, or a document inside one (``parent_id`` set)."""

    id: str
    source_id: int
    path: str
    uri: str
    name: str
    type: str
    status: str  # ok | metadata | error
    parent_id: str | None = None
    locator: str = ""
    path_raw: bytes | None = None  # the file's path bytes (top-level items only)
    mime: str | None = None
    size: int = 0
    mtime_ns: int = 0
    modified: float | None = None
    created: float | None = None
    owner: str | None = None
    author: str | None = None
    title: str | None = None
    content_hash: str | None = None
    error_kind: str | None = None
    error: str | None = None
    extract_ms: float | None = None
    meta: str | None = None  # JSON


_STATE_COLS = "id, size, mtime_ns, content_hash, status, error_kind"
_RECORD_FIELDS = [f.name for f in fields(ItemRecord)]


@dataclass(slots=True)
class ItemRow:
    """What the lexical index needs of an item."""

    id: str
    source_id: int
    parent_id: str | None
    path: str
    name: str
    title: str | None
    type: str
    size: int
    modified: float | None
    author: str | None
    status: str
    principals: list[str]
    chunks: list[Chunk]


class Catalog:
    def __init__(self, path: Path, readonly: bool = False, init: bool = True) -> None:
        self.path = path
        if readonly:
            uri = f"file:{path}?mode=ro"
            self.db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False, timeout=30)
        elif not init:
            self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        else:
            self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(resources.files("spyglass.index").joinpath("schema.sql").read_text())
            self.db.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES ('catalog_schema', ?)", (str(CATALOG_SCHEMA),)
            )
            self._migrate()
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.execute("PRAGMA busy_timeout=30000")

    def _migrate(self) -> None:
        version = int(self.get_meta("catalog_schema") or CATALOG_SCHEMA)
        if version > CATALOG_SCHEMA:
            from spyglass.core.errors import IndexFormatError

            raise IndexFormatError(f"{self.path} was written by a newer Spyglass (catalog schema {version})")
        if version < 2:  # 1 -> 2: semantic search (embeddings table comes from schema.sql)
            cols = {r[1] for r in self.db.execute("PRAGMA table_info(items)")}
            if "emb_dirty" not in cols:
                self.db.execute("ALTER TABLE items ADD COLUMN emb_dirty INTEGER NOT NULL DEFAULT 1")
        self.db.execute("CREATE INDEX IF NOT EXISTS items_emb_dirty ON items(emb_dirty) WHERE emb_dirty = 1")
        # 2 -> 3: embedding by value (the emb_todo queue comes from schema.sql), vectors reused by text hash, and
        # mark-and-sweep indexing (index_todo from schema.sql; items.seen)
        if "seen" not in {r[1] for r in self.db.execute("PRAGMA table_info(items)")}:
            self.db.execute("ALTER TABLE items ADD COLUMN seen INTEGER NOT NULL DEFAULT 0")
        if "hash" not in {r[1] for r in self.db.execute("PRAGMA table_info(embeddings)")}:
            self.db.execute("ALTER TABLE embeddings ADD COLUMN hash TEXT")
        self.db.execute("CREATE INDEX IF NOT EXISTS embeddings_hash ON embeddings(hash)")
        self.set_meta("catalog_schema", str(CATALOG_SCHEMA))

    def close(self) -> None:
        self.db.close()

    # -- transactions -------------------------------------------------------------------------------------------
    def begin(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.db.execute("COMMIT")

    def rollback(self) -> None:
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")

    # -- sources ------------------------------------------------------------------------------------------------
    def add_source(self, kind: str, root: str, name: str) -> Source:
        existing = self.source_by_root(root)
        if existing:
            return existing
        self.db.execute(
            "INSERT INTO sources(kind, root, name, added) VALUES (?, ?, ?, ?)", (kind, root, name, time.time())
        )
        src = self.source_by_root(root)
        assert src is not None
        return src

    def source_by_root(self, root: str) -> Source | None:
        row = self.db.execute("SELECT * FROM sources WHERE root = ?", (root,)).fetchone()
        return Source(*row) if row else None

    def sources(self) -> list[Source]:
        return [Source(*r) for r in self.db.execute("SELECT * FROM sources ORDER BY id")]

    def source(self, source_id: int) -> Source | None:
        row = self.db.execute("SELECT * FROM sources WHERE id = ?", (source_id,)).fetchone()
        return Source(*row) if row else None

    def touch_source(self, source_id: int) -> None:
        self.db.execute("UPDATE sources SET last_indexed = ? WHERE id = ?", (time.time(), source_id))

    def remove_source(self, source_id: int) -> int:
        """Tombstone every item of a source (the lexical sync removes them), then forget the source."""
        n = self.db.execute(
            "UPDATE items SET status = 'deleted', lex_dirty = 1, emb_dirty = 1 WHERE source_id = ?", (source_id,)
        ).rowcount
        self.db.execute("DELETE FROM chunks WHERE item_id IN (SELECT id FROM items WHERE source_id = ?)", (source_id,))
        self.db.execute("DELETE FROM acl WHERE item_id IN (SELECT id FROM items WHERE source_id = ?)", (source_id,))
        self.db.execute("UPDATE sources SET root = root || ' (removed ' || id || ')' WHERE id = ?", (source_id,))
        return n

    # -- files --------------------------------------------------------------------------------------------------
    def file_states(self, source_id: int) -> dict[bytes, FileState]:
        """path bytes -> :class:`FileState` for the live files of a source."""
        rows = self.db.execute(
            f"SELECT path_raw, {_STATE_COLS} FROM items "
            "WHERE source_id = ? AND parent_id IS NULL AND status != 'deleted'",
            (source_id,),
        )
        return {bytes(r[0]): FileState(*r[1:]) for r in rows}

    def file_states_under(self, source_id: int, path: str) -> dict[bytes, FileState]:
        """The live files of a source at ``path`` or below it (a folder)."""
        raw = os.fsencode(path)
        rows = self.db.execute(
            f"SELECT path_raw, {_STATE_COLS} FROM items WHERE source_id = ? AND parent_id IS NULL "
            "AND status != 'deleted' AND (path_raw = ? OR substr(path_raw, 1, ?) = ?)",
            (source_id, raw, len(raw) + 1, raw + b"/"),
        )
        return {bytes(r[0]): FileState(*r[1:]) for r in rows}

    def file_states_of(self, source_id: int, raws: list[bytes]) -> dict[bytes, FileState]:
        """The live files of a source at these paths."""
        out: dict[bytes, FileState] = {}
        for k in range(0, len(raws), 500):
            part = raws[k : k + 500]
            rows = self.db.execute(
                f"SELECT path_raw, {_STATE_COLS} FROM items WHERE source_id = ? AND parent_id IS NULL "
                f"AND status != 'deleted' AND path_raw IN ({','.join('?' * len(part))})", [source_id, *part])
            out.update({bytes(r[0]): FileState(*r[1:]) for r in rows})
        return out

    # -- mark and sweep: a walk marks what it sees; what it did not see is gone -----------------------------
    def next_mark(self, source_id: int) -> int:
        """A new mark for a walk of a source (and an empty parking table for it)."""
        self.db.execute("DELETE FROM index_todo WHERE source_id = ?", (source_id,))
        return int(self.db.execute("SELECT coalesce(max(seen), 0) + 1 FROM items WHERE source_id = ?",
                                   (source_id,)).fetchone()[0])

    def mark_seen(self, ids: list[str], mark: int) -> None:
        for k in range(0, len(ids), 500):
            part = ids[k : k + 500]
            self.db.execute(f"UPDATE items SET seen = ? WHERE id IN ({','.join('?' * len(part))})", [mark, *part])

    def unseen_files(self, source_id: int, mark: int) -> dict[bytes, FileState]:
        """The live files of a source that the walk with ``mark`` did not see (gone, or moved)."""
        rows = self.db.execute(
            f"SELECT path_raw, {_STATE_COLS} FROM items WHERE source_id = ? AND parent_id IS NULL "
            "AND status != 'deleted' AND seen != ?", (source_id, mark))
        return {bytes(r[0]): FileState(*r[1:]) for r in rows}

    def park(self, source_id: int, rows: list[tuple[bytes, str]]) -> None:
        """Files the walk found new or changed, (path bytes, the walk's entry as JSON), processed later in chunks."""
        self.db.executemany("INSERT OR REPLACE INTO index_todo(source_id, path_raw, entry) VALUES (?, ?, ?)",
                            [(source_id, raw, js) for raw, js in rows])

    def todo_count(self, source_id: int) -> int:
        return self.db.execute("SELECT count(*) FROM index_todo WHERE source_id = ?", (source_id,)).fetchone()[0]

    def todo_chunks(self, source_id: int, size: int) -> Iterator[list[bytes]]:
        """Chunks of parked paths, in path order (each chunk is read when the previous one is done)."""
        last = b""
        while True:
            raws = [bytes(r[0]) for r in self.db.execute(
                "SELECT path_raw FROM index_todo WHERE source_id = ? AND path_raw > ? ORDER BY path_raw LIMIT ?",
                (source_id, last, size))]
            if not raws:
                return
            last = raws[-1]
            yield raws

    def todo_entries(self, source_id: int, raws: list[bytes]) -> list[str]:
        out: list[str] = []
        for k in range(0, len(raws), 500):
            part = raws[k : k + 500]
            out += [r[0] for r in self.db.execute(
                f"SELECT entry FROM index_todo WHERE source_id = ? AND path_raw IN ({','.join('?' * len(part))}) "
                "ORDER BY path_raw", [source_id, *part])]
        return out

    def todo_done(self, source_id: int, raws: list[bytes]) -> None:
        self.db.executemany("DELETE FROM index_todo WHERE source_id = ? AND path_raw = ?",
                            [(source_id, r) for r in raws])

    def new_file_id(self, source_id: int, raw: bytes) -> str:
        base = item_id(str(source_id), raw)
        candidate, n = base, 0
        while self.db.execute("SELECT 1 FROM items WHERE id = ?", (candidate,)).fetchone():
            n += 1  # the id is held by a file that moved away from this path: salt it
            candidate = item_id(str(source_id), raw, str(n))
        return candidate

    def put_item(self, record: ItemRecord, principals: Iterable[str], chunks: list[Chunk]) -> None:
        """Insert or replace one item with its passages and principals; marks it for lexical indexing."""
        iid = record.id
        row = {f: getattr(record, f) for f in _RECORD_FIELDS}
        cols = list(row) + ["lex_dirty", "emb_dirty", "indexed_at", "n_chunks"]
        vals = list(row.values()) + [1, 1, time.time(), len(chunks)]
        self.db.execute(
            f"INSERT OR REPLACE INTO items({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", vals
        )
        self.db.execute("DELETE FROM acl WHERE item_id = ?", (iid,))
        self.db.executemany(
            "INSERT OR IGNORE INTO acl(item_id, principal) VALUES (?, ?)", [(iid, p) for p in principals]
        )
        self.db.execute("DELETE FROM chunks WHERE item_id = ?", (iid,))
        self.db.executemany(
            'INSERT INTO chunks(item_id, ord, text, page, start, "end", label) VALUES (?, ?, ?, ?, ?, ?, ?)',
            [(iid, c.ord, c.text, c.page, c.start, c.end, c.label) for c in chunks],
        )

    def descendants(self, iid: str) -> list[str]:
        rows = self.db.execute(
            "WITH RECURSIVE d(id) AS (SELECT id FROM items WHERE parent_id = ? "
            "UNION SELECT items.id FROM items JOIN d ON items.parent_id = d.id) SELECT id FROM d",
            (iid,),
        )
        return [r[0] for r in rows]

    def delete_items(self, ids: Iterable[str]) -> int:
        """Tombstone items (the lexical sync deletes their passages, then the rows)."""
        ids = list(ids)
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            q = ",".join("?" * len(part))
            self.db.execute(
                f"UPDATE items SET status = 'deleted', lex_dirty = 1, emb_dirty = 1 WHERE id IN ({q})", part
            )
            self.db.execute(f"DELETE FROM chunks WHERE item_id IN ({q})", part)
            self.db.execute(f"DELETE FROM acl WHERE item_id IN ({q})", part)
        return len(ids)

    def delete_file(self, iid: str) -> int:
        return self.delete_items([iid, *self.descendants(iid)])

    def move_file(self, iid: str, new_path: str, new_raw: bytes, uri: str, name: str, mtime_ns: int,
                  modified: float, principals: Iterable[str]) -> None:
        """A file moved or was renamed: same content, new path. Nothing is re-extracted."""
        old = self.db.execute("SELECT path FROM items WHERE id = ?", (iid,)).fetchone()[0]
        self.db.execute(
            "UPDATE items SET path = ?, path_raw = ?, uri = ?, name = ?, mtime_ns = ?, modified = ?, lex_dirty = 1 "
            "WHERE id = ?",
            (new_path, new_raw, uri, name, mtime_ns, modified, iid),
        )
        self.db.execute("DELETE FROM acl WHERE item_id = ?", (iid,))
        self.db.executemany("INSERT OR IGNORE INTO acl VALUES (?, ?)", [(iid, p) for p in principals])
        for did in self.descendants(iid):
            self.db.execute(
                "UPDATE items SET path = ?, uri = replace(uri, ?, ?), lex_dirty = 1 WHERE id = ?",
                (new_path, _file_uri(old), uri, did),
            )
        del old

    def update_stat(self, iid: str, mtime_ns: int, size: int, modified: float) -> None:
        self.db.execute(
            "UPDATE items SET mtime_ns = ?, size = ?, modified = ? WHERE id = ?", (mtime_ns, size, modified, iid)
        )

    # -- lexical sync -------------------------------------------------------------------------------------------
    def dirty_count(self) -> int:
        return self.db.execute("SELECT count(*) FROM items WHERE lex_dirty = 1").fetchone()[0]

    def dirty_passages(self) -> int:
        """Passages (and items) waiting for the lexical index: when enough have piled up, it is committed."""
        return self.db.execute(
            "SELECT coalesce(sum(n_chunks), 0) + count(*) FROM items WHERE lex_dirty = 1").fetchone()[0]

    def dirty_items(self, batch: int = 2000) -> Iterator[list[ItemRow | str]]:
        """Batches of items to (re)index; a ``str`` in a batch is the id of an item to remove."""
        last = ""
        while True:
            rows = self.db.execute(
                "SELECT id, source_id, parent_id, path, name, title, type, size, modified, author, status "
                "FROM items WHERE lex_dirty = 1 AND id > ? ORDER BY id LIMIT ?",
                (last, batch),
            ).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            live = [r[0] for r in rows if r[10] != "deleted"]
            acls: dict[str, list[str]] = {i: [] for i in live}
            chunks: dict[str, list[Chunk]] = {i: [] for i in live}
            for i in range(0, len(live), 500):
                part = live[i : i + 500]
                q = ",".join("?" * len(part))
                for iid, p in self.db.execute(f"SELECT item_id, principal FROM acl WHERE item_id IN ({q})", part):
                    acls[iid].append(p)
                for iid, o, t, pg, s, e, lb in self.db.execute(
                    f'SELECT item_id, ord, text, page, start, "end", label FROM chunks WHERE item_id IN ({q}) '
                    "ORDER BY item_id, ord",
                    part,
                ):
                    chunks[iid].append(Chunk(o, t, pg, s, e, lb))
            out: list[ItemRow | str] = []
            for r in rows:
                if r[10] == "deleted":
                    out.append(r[0])
                else:
                    out.append(ItemRow(*r, principals=acls[r[0]], chunks=chunks[r[0]]))
            yield out

    def _mark(self, column: str, ids: list[str]) -> None:
        """Clear a dirty flag (``lex_dirty`` or ``emb_dirty``) and forget tombstones neither index holds."""
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            q = ",".join("?" * len(part))
            self.db.execute(f"UPDATE items SET {column} = 0 WHERE id IN ({q})", part)
            self._purge_deleted(part)

    def mark_clean(self, ids: list[str]) -> None:
        self._mark("lex_dirty", ids)

    def _purge_deleted(self, ids: list[str]) -> None:
        """Forget tombstoned items once neither index holds them."""
        q = ",".join("?" * len(ids))
        self.db.execute(
            f"DELETE FROM items WHERE id IN ({q}) AND status = 'deleted' AND lex_dirty = 0 "
            "AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.item_id = items.id)",
            ids,
        )

    # -- vectors ----------------------------------------------------------------------------------------------
    # An item marked ``emb_dirty`` has vectors to drop (changed or deleted) and passages to queue; ``emb_todo`` is the
    # queue of passages waiting for a vector, best first (``prio``); ``embeddings`` maps each vector key (never
    # reused: AUTOINCREMENT) to its passage and the hash of the passage's normalised text.
    def emb_pending(self) -> tuple[int, int]:
        """(documents, passages) waiting for embeddings: queued passages, and the passages of items not yet queued."""
        dirty = self.db.execute("SELECT count(*), coalesce(sum(n_chunks), 0) FROM items "
                                "WHERE emb_dirty = 1 AND status = 'ok'").fetchone()
        queued = self.db.execute("SELECT count(DISTINCT item_id), count(*) FROM emb_todo").fetchone()
        return int(dirty[0]) + int(queued[0]), int(dirty[1]) + int(queued[1])

    def emb_dirty_batch(self, limit: int) -> list[dict[str, Any]]:
        """Items whose vectors must be rebuilt or removed, with what the queue's priorities read."""
        cur = self.db.execute("SELECT id, status, type, name, modified, n_chunks FROM items WHERE emb_dirty = 1 "
                              "ORDER BY id LIMIT ?", (limit,))
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r)) for r in cur]

    def drop_vectors(self, ids: list[str]) -> list[int]:
        """Forget the vectors and queued passages of items; returns the vector keys to remove from the index."""
        keys: list[int] = []
        for k in range(0, len(ids), 500):
            part = ids[k : k + 500]
            q = ",".join("?" * len(part))
            keys += [r[0] for r in self.db.execute(f"SELECT vkey FROM embeddings WHERE item_id IN ({q})", part)]
            self.db.execute(f"DELETE FROM embeddings WHERE item_id IN ({q})", part)
            self.db.execute(f"DELETE FROM emb_todo WHERE item_id IN ({q})", part)
        return keys

    def enqueue_passages(self, rows: list[tuple[str, int, float]]) -> None:
        """Queue (item, passage, priority) for embedding (a passage already queued keeps the higher priority)."""
        self.db.executemany("INSERT INTO emb_todo(item_id, ord, prio) VALUES (?, ?, ?) ON CONFLICT(item_id, ord) "
                            "DO UPDATE SET prio = max(prio, excluded.prio)", rows)

    def emb_queue_head(self, n: int) -> list[tuple[str, int, str]]:
        """The ``n`` best queued passages: (item, passage, text)."""
        return self.db.execute(
            "SELECT t.item_id, t.ord, c.text FROM emb_todo t JOIN chunks c ON c.item_id = t.item_id AND c.ord = t.ord "
            "ORDER BY t.prio DESC, t.item_id, t.ord LIMIT ?", (n,)).fetchall()

    def dequeue_passages(self, rows: list[tuple[str, int]]) -> None:
        self.db.executemany("DELETE FROM emb_todo WHERE item_id = ? AND ord = ?", rows)

    def drop_stale_queue(self) -> int:
        """Queued passages whose item or passage is gone (a crash between a change and its queueing)."""
        return self.db.execute("DELETE FROM emb_todo WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE "
                               "c.item_id = emb_todo.item_id AND c.ord = emb_todo.ord)").rowcount

    def promote(self, ids: list[str], prio: float) -> int:
        """Lift the queued passages of ``ids`` (opened, or shown in results) to at least ``prio``."""
        q = ",".join("?" * len(ids)) or "NULL"
        return self.db.execute(f"UPDATE emb_todo SET prio = ? - ord * 1e-3 WHERE item_id IN ({q}) AND prio < ?",
                               [prio, *ids, prio - 1]).rowcount

    def add_vkeys(self, rows: list[tuple[str, int, str]]) -> list[int]:
        """New vector keys for (item, passage, text hash) rows; keys are never reused, even after deletes."""
        seq = self.db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'embeddings'").fetchone()
        top = self.db.execute("SELECT coalesce(max(vkey), 0) FROM embeddings").fetchone()[0]
        first = max(int(seq[0]) if seq else 0, int(top)) + 1
        keys = list(range(first, first + len(rows)))
        self.db.executemany("INSERT INTO embeddings(vkey, item_id, ord, hash) VALUES (?, ?, ?, ?)",
                            [(k, i, o, h) for k, (i, o, h) in zip(keys, rows)])
        return keys

    def vkeys_by_hash(self, hashes: list[str]) -> dict[str, int]:
        """A vector key already holding each passage text (by normalised-text hash), for reuse."""
        out: dict[str, int] = {}
        for k in range(0, len(hashes), 500):
            part = hashes[k : k + 500]
            q = ",".join("?" * len(part))
            for h, key in self.db.execute(f"SELECT hash, min(vkey) FROM embeddings WHERE hash IN ({q}) GROUP BY 1",
                                          part):
                out[h] = key
        return out

    def all_vkeys(self) -> list[int]:
        return [r[0] for r in self.db.execute("SELECT vkey FROM embeddings")]

    def forget_vkeys(self, keys: list[int]) -> list[tuple[str, int]]:
        """Drop catalog rows of vectors the index lost (a crash before it was saved); returns their passages."""
        out: list[tuple[str, int]] = []
        for k in range(0, len(keys), 500):
            part = keys[k : k + 500]
            q = ",".join("?" * len(part))
            out += self.db.execute(f"SELECT item_id, ord FROM embeddings WHERE vkey IN ({q})", part).fetchall()
            self.db.execute(f"DELETE FROM embeddings WHERE vkey IN ({q})", part)
        return out

    def passage_context(self, rows: list[tuple[str, int]]) -> dict[str, dict[str, Any]]:
        """type, name and modified time of the items of some passages (for their queue priority)."""
        ids = sorted({r[0] for r in rows})
        out: dict[str, dict[str, Any]] = {}
        for k in range(0, len(ids), 500):
            part = ids[k : k + 500]
            cur = self.db.execute(f"SELECT id, type, name, modified, status FROM items WHERE id IN "
                                  f"({','.join('?' * len(part))})", part)
            for r in cur:
                out[r[0]] = {"type": r[1], "name": r[2], "modified": r[3], "status": r[4]}
        return out

    def vector_counts(self) -> dict[str, int]:
        """Embedded passages, documents with at least one vector, and documents with text."""
        passages = self.db.execute("SELECT count(*) FROM embeddings").fetchone()[0]
        docs = self.db.execute("SELECT count(DISTINCT item_id) FROM embeddings").fetchone()[0]
        with_text = self.db.execute("SELECT count(*) FROM items WHERE status = 'ok' AND n_chunks > 0").fetchone()[0]
        return {"embedded_passages": passages, "documents_with_vectors": docs, "documents_with_text": with_text}

    def mark_embedded(self, ids: list[str]) -> None:
        self._mark("emb_dirty", ids)

    def reset_vectors(self) -> None:
        """Forget every vector (the model changed): every item will be embedded again."""
        self.db.execute("DELETE FROM embeddings")
        self.db.execute("DELETE FROM emb_todo")
        self.db.execute("UPDATE items SET emb_dirty = 1")

    def passages_by_vkey(self, keys: list[int]) -> dict[int, tuple[str, int]]:
        out: dict[int, tuple[str, int]] = {}
        for i in range(0, len(keys), 500):
            part = keys[i : i + 500]
            q = ",".join("?" * len(part))
            for k, iid, o in self.db.execute(f"SELECT vkey, item_id, ord FROM embeddings WHERE vkey IN ({q})", part):
                out[k] = (iid, o)
        return out

    def mark_all_dirty(self) -> None:
        self.db.execute("UPDATE items SET lex_dirty = 1")

    # -- reads --------------------------------------------------------------------------------------------------
    def items(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            q = ",".join("?" * len(part))
            cur = self.db.execute(
                "SELECT id, source_id, parent_id, locator, path, uri, name, title, type, mime, size, modified, "
                f"created, author, owner, status, error_kind, error, n_chunks, meta FROM items WHERE id IN ({q})",
                part,
            )
            cols = [d[0] for d in cur.description]
            for r in cur:
                out[r[0]] = dict(zip(cols, r))
        return out

    def visible_item(self, iid: str, principals: acl.Principals) -> dict[str, Any] | None:
        """One live item, only when ``principals`` may read it — checked in the query."""
        cond, params = acl_condition(principals)
        cur = self.db.execute(
            "SELECT id, source_id, parent_id, locator, path, path_raw, uri, name, title, type, mime, size, modified, "
            f"created, author, status, n_chunks FROM items i WHERE i.id = ? AND i.status IN ('ok', 'metadata') "
            f"AND {cond}", [iid, *params])
        r = cur.fetchone()
        return dict(zip([d[0] for d in cur.description], r)) if r else None

    def file_record(self, iid: str) -> dict[str, Any] | None:
        """A live top-level item's file as indexed: ``path_raw``, ``size``, ``mtime_ns`` (and ``dev``/``ino`` when the
        catalog records them), for checking that a file about to be served is still that file."""
        cur = self.db.execute("SELECT * FROM items WHERE id = ? AND parent_id IS NULL AND status IN ('ok', 'metadata')",
                              (iid,))
        r = cur.fetchone()
        return dict(zip([d[0] for d in cur.description], r)) if r else None

    def unreadable_descendants(self, iid: str, principals: list[str]) -> int:
        """How many live items inside ``iid`` (messages, channels, archive members, at any depth) ``principals``
        may not read: a container is served whole only when this is 0."""
        marks = ",".join("?" * len(principals)) or "NULL"
        return self.db.execute(
            "WITH RECURSIVE d(id) AS (SELECT id FROM items WHERE parent_id = ? "
            "UNION SELECT i.id FROM items i JOIN d ON i.parent_id = d.id) "
            "SELECT count(*) FROM d JOIN items i ON i.id = d.id WHERE i.status != 'deleted' AND NOT EXISTS "
            f"(SELECT 1 FROM acl a WHERE a.item_id = i.id AND a.principal IN ({marks}))",
            [iid, *principals]).fetchone()[0]

    def chunks_of(self, iid: str, limit: int = 200) -> list[Chunk]:
        return [Chunk(*r) for r in self.db.execute(
            'SELECT ord, text, page, start, "end", label FROM chunks WHERE item_id = ? ORDER BY ord LIMIT ?',
            (iid, limit))]

    def facet_counts(self, ids: list[str]) -> dict[str, list[tuple[str, int]]]:
        """Counts by type, source, year, first-level folder and topic over the given items (already filtered by the
        caller's query), in one grouped query per 500 items."""
        from collections import Counter

        facets = ("type", "source", "year", "folder", "topic")
        counts: dict[str, Counter] = {f: Counter() for f in facets}
        try:
            self.db.execute("SELECT 1 FROM item_topics LIMIT 0")
            topic_join, topic_col = "LEFT JOIN item_topics it ON it.item_id = i.id", "it.topic_id"
        except sqlite3.OperationalError:  # a catalog from before topics
            topic_join, topic_col = "", "NULL"
        for k in range(0, len(ids), 500):
            part = ids[k : k + 500]
            # the folder is the first one under the source's root (absolute: it is also the `in:` filter's value)
            rows = self.db.execute(
                "SELECT type, name, year, CASE WHEN instr(rest, '/') > 0 THEN root || '/' || "
                "substr(rest, 1, instr(rest, '/') - 1) END, topic, count(*) FROM ("
                f"SELECT i.type AS type, s.name AS name, strftime('%Y', i.modified, 'unixepoch') AS year, "
                f"s.root AS root, substr(i.path, length(s.root) + 2) AS rest, {topic_col} AS topic "
                f"FROM items i JOIN sources s ON s.id = i.source_id {topic_join} "
                f"WHERE i.id IN ({','.join('?' * len(part))})) GROUP BY 1, 2, 3, 4, 5", part)
            for type_, source, year, folder, topic, n in rows:  # one pass over the rows, then a rollup per facet
                for facet, value in zip(facets, (type_, source, year, folder, topic)):
                    if value is not None:
                        counts[facet][str(value)] += n
        by_count = lambda c: sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))  # noqa: E731
        return {"type": by_count(counts["type"]), "source": by_count(counts["source"]),
                "year": sorted(counts["year"].items(), reverse=True),
                "folder": by_count(counts["folder"])[:20], "topic": by_count(counts["topic"])[:20]}

    # -- metadata filters (camera:, near:, taken:) -------------------------------------------------------------
    def items_by_camera(self, words: list[str]) -> set[str]:
        """Items whose EXIF camera (make and model) contains every word (lower-case)."""
        where = " AND ".join("instr(lower(json_extract(meta, '$.camera')), ?) > 0" for _ in words) or "0"
        return {r[0] for r in self.db.execute(f"SELECT id FROM items WHERE meta LIKE '%camera%' AND {where}", words)}

    def gps_in_latitudes(self, lo: float, hi: float) -> list[tuple[str, float | None, float | None]]:
        """(id, latitude, longitude) of the items with an EXIF GPS latitude in [lo, hi]."""
        return self.db.execute(
            "SELECT id, json_extract(meta, '$.gps_lat'), json_extract(meta, '$.gps_lon') FROM items "
            "WHERE meta LIKE '%gps_lat%' AND json_extract(meta, '$.gps_lat') BETWEEN ? AND ?", (lo, hi)).fetchall()

    def items_taken_between(self, start: float, end: float) -> set[str]:
        """Items whose EXIF date taken is in [start, end)."""
        return {r[0] for r in self.db.execute(
            "SELECT id FROM items WHERE meta LIKE '%taken%' AND json_extract(meta, '$.taken') >= ? "
            "AND json_extract(meta, '$.taken') < ?", (start, end))}

    def items_with_attendee(self, address: str) -> set[str]:
        """Events whose attendee addresses (``meta.attendees``, lower-cased) contain ``address``."""
        return {r[0] for r in self.db.execute(
            "SELECT id FROM items WHERE meta LIKE '%attendees%' "
            "AND instr(lower(json_extract(meta, '$.attendees')), ?) > 0", (address.lower(),))}

    def item_principals(self, iid: str) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT principal FROM acl WHERE item_id = ? ORDER BY 1", (iid,))]

    def chunk(self, iid: str, ord_: int) -> Chunk | None:
        r = self.db.execute(
            'SELECT ord, text, page, start, "end", label FROM chunks WHERE item_id = ? AND ord = ?', (iid, ord_)
        ).fetchone()
        return Chunk(*r) if r else None

    # -- runs ---------------------------------------------------------------------------------------------------
    def start_run(self, kind: str) -> int:
        cur = self.db.execute("INSERT INTO runs(kind, started) VALUES (?, ?)", (kind, time.time()))
        return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, stats: dict[str, Any]) -> None:
        self.db.execute("UPDATE runs SET finished = ?, stats = ? WHERE id = ?", (time.time(), json.dumps(stats), run_id))

    def last_run(self) -> dict[str, Any] | None:
        r = self.db.execute(
            "SELECT id, kind, started, finished, stats FROM runs WHERE finished IS NOT NULL ORDER BY id DESC LIMIT 1"
        ).fetchone()
        if not r:
            return None
        return {"id": r[0], "kind": r[1], "started": r[2], "finished": r[3], "stats": json.loads(r[4] or "{}")}

    def get_meta(self, key: str) -> str | None:
        r = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return r[0] if r else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))


def _file_uri(path: str) -> str:
    """``file://`` URI of a path; undecodable bytes of the name are percent-encoded as they are."""
    from urllib.parse import quote

    return "file://" + quote(os.fsencode(path), safe="/")
