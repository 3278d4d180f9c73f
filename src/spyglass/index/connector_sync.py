"""Connector sync: bring the catalog in line with what a connector source holds now.

One run: list the source in full (keys and change tokens), delete the items whose keys vanished, fetch the new and
changed items only, extract them in the worker pool (the same per-file time and memory limits as files), write the
catalog, commit the keyword index. A listing that fails — server down, refused login, a malformed, oversized or
stalled answer — marks the source ``failing`` with the reason and changes nothing indexed. One item that fails is
recorded with its reason (``spyglass status``) and the run goes on.

The state lives in two tables of the catalog (created here): ``connector_sources`` (settings without secrets,
interval, state, last sync, last error) and ``connector_items`` (key -> item id and change token).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from spyglass.core.config import Config
from spyglass.core.ids import item_id
from spyglass.core.progress import NullProgress, Progress
from spyglass.extraction.registry import file_type, mime_type
from spyglass.extraction.worker import FileResult, Task
from spyglass.index.catalog import ItemRecord, Source
from spyglass.index.pipeline import Indexer, RunStats
from spyglass.index.store import DataDir
from spyglass.sources.connector import (
    MAX_ITEM_BYTES,
    MAX_LISTING,
    ConnectorError,
    Entry,
    Fetched,
    ItemError,
    SourceSpec,
    safe_folder,
    safe_name,
    scrub,
    secret,
)
from spyglass.sources.registry import is_connector_kind, open_connector

SCHEMA = """
CREATE TABLE IF NOT EXISTS connector_sources (
    source_id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    location TEXT NOT NULL,
    settings TEXT NOT NULL,        -- JSON, never a secret (only password_env / password_file)
    owner TEXT NOT NULL,
    readers TEXT NOT NULL,         -- JSON list of principals
    interval_s REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'new',   -- new | ok | failing
    last_sync REAL,
    last_ok REAL,
    last_error TEXT,
    failures INTEGER NOT NULL DEFAULT 0,
    last_stats TEXT
);
CREATE TABLE IF NOT EXISTS connector_items (
    source_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    item_id TEXT NOT NULL,
    token TEXT NOT NULL,
    PRIMARY KEY (source_id, key)
) WITHOUT ROWID;
"""
BATCH = 64  # items fetched, then extracted together


def is_connector(source: Source) -> bool:
    return is_connector_kind(source.kind)


class ConnectorStore:
    """The connector tables on a catalog connection (read-only connections see an empty store until they exist)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def ensure(self) -> None:
        for stmt in SCHEMA.split(";"):  # one by one: executescript would commit an open transaction
            if stmt.strip():
                self.db.execute(stmt)

    def add(self, source_id: int, spec: SourceSpec) -> None:
        self.ensure()
        self.db.execute(
            "INSERT OR REPLACE INTO connector_sources(source_id, kind, location, settings, owner, readers, interval_s)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (source_id, spec.kind, spec.location, json.dumps(spec.settings), spec.owner, json.dumps(spec.readers),
             spec.interval_s))

    def spec(self, source_id: int, name: str) -> SourceSpec | None:
        r = self._rows("SELECT kind, location, settings, owner, readers, interval_s FROM connector_sources "
                       "WHERE source_id = ?", (source_id,))
        if not r:
            return None
        kind, location, settings, owner, readers, interval = r[0]
        return SourceSpec(kind, name, location, json.loads(settings), owner, json.loads(readers), interval)

    def states(self) -> dict[int, dict[str, Any]]:
        rows = self._rows("SELECT source_id, kind, location, interval_s, state, last_sync, last_ok, last_error, "
                          "failures, last_stats FROM connector_sources", ())
        keys = ("source_id", "kind", "location", "interval_s", "state", "last_sync", "last_ok", "last_error",
                "failures", "last_stats")
        out = {}
        for r in rows:
            d = dict(zip(keys, r))
            d["last_stats"] = json.loads(d["last_stats"] or "{}")
            out[d["source_id"]] = d
        return out

    def remove(self, source_id: int) -> None:
        self.ensure()
        self.db.execute("DELETE FROM connector_sources WHERE source_id = ?", (source_id,))
        self.db.execute("DELETE FROM connector_items WHERE source_id = ?", (source_id,))

    def tokens(self, source_id: int) -> dict[str, tuple[str, str]]:
        return {k: (i, t) for k, i, t in self._rows(
            "SELECT key, item_id, token FROM connector_items WHERE source_id = ?", (source_id,))}

    def set_token(self, source_id: int, key: str, iid: str, token: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO connector_items(source_id, key, item_id, token) VALUES (?, ?, ?, ?)",
                        (source_id, key, iid, token))

    def drop(self, source_id: int, key: str) -> None:
        self.db.execute("DELETE FROM connector_items WHERE source_id = ? AND key = ?", (source_id, key))

    def original_ref(self, iid: str) -> tuple[str, str, str | None] | None:
        """(key, token, content hash) of a connector's top-level item, to fetch it again (downloads)."""
        r = self._rows("SELECT c.key, c.token, i.content_hash FROM connector_items c JOIN items i ON i.id = c.item_id "
                       "WHERE c.item_id = ? AND i.parent_id IS NULL", (iid,))
        return r[0] if r else None

    def mark(self, source_id: int, ok: bool, error: str | None, stats: dict[str, Any]) -> None:
        now = time.time()
        if ok:
            self.db.execute("UPDATE connector_sources SET state = 'ok', last_sync = ?, last_ok = ?, last_error = NULL, "
                            "failures = 0, last_stats = ? WHERE source_id = ?",
                            (now, now, json.dumps(stats, default=str), source_id))
        else:
            self.db.execute("UPDATE connector_sources SET state = 'failing', last_sync = ?, last_error = ?, "
                            "failures = failures + 1, last_stats = ? WHERE source_id = ?",
                            (now, error, json.dumps(stats, default=str), source_id))

    def _rows(self, sql: str, params: tuple) -> list[tuple]:
        try:
            return self.db.execute(sql, params).fetchall()
        except sqlite3.OperationalError:  # a catalog from before connectors (read-only: the tables are not there)
            return []


def due(store: ConnectorStore, sources: list[Source], now: float | None = None) -> list[Source]:
    """Connector sources whose interval has passed since their last sync (never synced: due)."""
    now = time.time() if now is None else now
    states = store.states()
    out = []
    for s in sources:
        st = states.get(s.id)
        if st is not None and (st["last_sync"] is None or now - st["last_sync"] >= st["interval_s"]):
            out.append(s)
    return out


def sync_connector(data: DataDir, config: Config, source: Source, indexer: Indexer,
                   progress: Progress | None = None) -> RunStats:
    """Sync one connector source (see the module docstring). Never raises for a failing source."""
    store = ConnectorStore(data.catalog.db)
    store.ensure()
    spec = store.spec(source.id, source.name)
    stats = RunStats()
    if spec is None:
        stats.errors["not-configured"] += 1
        return stats
    t0 = time.perf_counter()
    secrets: list[str | None] = []
    try:
        secrets = [secret(spec.settings)]
        spec.settings["_workdir"] = str(data.home / "connectors" / str(source.id))  # clones, caches (not stored)
        conn = open_connector(spec)
        try:
            _run(data, config, source, spec, conn, store, indexer, stats, progress or NullProgress())
        finally:
            conn.close()
        ok, error = True, None
    except ConnectorError as exc:
        ok, error = False, scrub(str(exc), secrets)
    except (OSError, TimeoutError) as exc:
        ok, error = False, scrub(f"{type(exc).__name__}: {exc}", secrets)
    data.catalog.rollback()
    indexer.sync_lexical()  # whatever was committed before a failure is searchable
    stats.seconds = time.perf_counter() - t0
    if not ok:
        stats.errors["source-failing"] += 1
    data.catalog.begin()
    store.mark(source.id, ok, error, stats.as_dict())
    if ok:
        data.catalog.touch_source(source.id)
    data.catalog.commit()
    return stats


def _run(data: DataDir, config: Config, source: Source, spec: SourceSpec, conn: Any, store: ConnectorStore,
         indexer: Indexer, stats: RunStats, progress: Progress) -> None:
    listed: dict[str, Entry] = {}
    progress.start(f"Listing {source.name}", None)
    for e in conn.entries():  # in full before anything changes: a failed listing raises out of here
        listed.setdefault(e.key, e)
        if len(listed) > MAX_LISTING:
            raise ConnectorError(f"the source lists more than {MAX_LISTING} items: refused")
    progress.stop()
    known = store.tokens(source.id)
    changed = [e for k, e in listed.items() if k not in known or known[k][1] != e.token]
    stats.scanned += len(listed)
    stats.unchanged += len(listed) - len(changed)
    vanished = [k for k in known if k not in listed]
    if vanished:
        data.catalog.begin()
        for k in vanished:
            data.catalog.delete_file(known[k][0])
            store.drop(source.id, k)
            stats.deleted += 1
        data.catalog.commit()
    tmp = data.home / "tmp" / f"connector-{source.id}"
    progress.start(f"Syncing {source.name}", len(changed))
    try:
        for i in range(0, len(changed), BATCH):
            _batch(data, config, source, spec, conn, store, indexer, changed[i:i + BATCH], known, tmp, stats,
                   progress)
    finally:
        progress.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def _batch(data: DataDir, config: Config, source: Source, spec: SourceSpec, conn: Any, store: ConnectorStore,
           indexer: Indexer, batch: list[Entry], known: dict[str, tuple[str, str]], tmp: Path, stats: RunStats,
           progress: Progress) -> None:
    fetched: dict[int, tuple[Entry, Fetched]] = {}
    failed: list[tuple[Entry, tuple[str, str]]] = []
    tasks: list[Task] = []
    limit = min(MAX_ITEM_BYTES, int(config.limits.max_file_mb * 1024 * 1024))
    if hasattr(conn, "prefetch"):  # optional: one round trip for the whole batch (IMAP)
        conn.prefetch(batch)
    for n, e in enumerate(batch):
        try:
            f = conn.fetch(e)
            path = _content_path(f, tmp, n, limit)
        except ItemError as exc:
            failed.append((e, (exc.kind, exc.message)))
            continue
        name = safe_name(f.name or e.name)
        kind = file_type(name)
        if f.type or f.extractor:
            kind = (f.type or kind[0], f.extractor or kind[1])
        fetched[n] = (e, f)
        tasks.append(Task(key=n, path=path, name=name, kind=kind))
    data.catalog.begin()
    try:
        for e, err in failed:
            _write(data, source, spec, e, Fetched(), None, err, known, store, stats)
        for task, result in indexer.pool().run(tasks) if tasks else ():
            e, f = fetched[task.key]
            _write(data, source, spec, e, f, result, None, known, store, stats)
            progress.advance(1, e.name)
        data.catalog.commit()
    except BaseException:
        data.catalog.rollback()
        raise
    for t in tasks:
        if t.path.startswith(str(tmp)):
            try:
                os.unlink(t.path)
            except OSError:
                pass


def _content_path(f: Fetched, tmp: Path, n: int, limit: int) -> str:
    if f.path is not None:
        size = os.path.getsize(f.path)
        if size > limit:
            raise ItemError("too-large", f"{size} bytes, over the {limit} byte limit (limits.max_file_mb)")
        return f.path
    data = f.data or b""
    if len(data) > limit:
        raise ItemError("too-large", f"{len(data)} bytes, over the {limit} byte limit (limits.max_file_mb)")
    if not data:
        raise ItemError("empty", "the source returned no content")
    tmp.mkdir(parents=True, exist_ok=True)
    p = tmp / str(n)
    p.write_bytes(data)
    return str(p)


def _principals(spec: SourceSpec, declared: list[str] | None) -> list[str]:
    """The same mapping for every connector: owner + source readers + what the item declares (default-deny)."""
    out = set(declared or ())
    if spec.owner:
        out.add(spec.owner)
    out.update(spec.readers)
    return sorted(out)


def _write(data: DataDir, source: Source, spec: SourceSpec, e: Entry, f: Fetched, result: FileResult | None,
           error: tuple[str, str] | None, known: dict[str, tuple[str, str]], store: ConnectorStore,
           stats: RunStats) -> None:
    cat = data.catalog
    old = known.get(e.key)
    iid = old[0] if old else item_id(str(source.id), "connector", e.key)
    if old:
        cat.delete_items(cat.descendants(iid))
        stats.updated += 1
    else:
        stats.added += 1
    name = safe_name(f.name or e.name)
    folder = safe_folder(e.folder)
    display = "/".join(p for p in (source.root.rstrip("/"), folder, name) if p)
    uri = f.uri or f"{source.root}#{quote(e.key, safe='/@')}"
    modified = f.modified or e.modified
    owner = spec.owner[5:] if spec.owner.startswith("user:") else None
    top = {"id": iid, "source_id": source.id, "parent_id": None, "locator": "",
           "path_raw": os.fsencode(f.path) if f.path else None, "path": display, "uri": uri, "name": name,
           "mime": mime_type(name), "size": e.size, "mtime_ns": int((modified or 0) * 1e9), "modified": modified,
           "owner": owner}
    if error is None and result is not None and result.status == "error":
        error = result.error
    if error is not None or result is None:
        err = error or ("corrupt", "no result")
        top.update(type=f.type or file_type(name)[0], status="error", error_kind=err[0], error=err[1],
                   title=f.title, author=f.author, created=f.created,
                   meta=json.dumps(f.meta, default=str) if f.meta else None)
        cat.put_item(ItemRecord(**top), _principals(spec, f.principals), [])
        stats.failed += 1
        stats.errors[err[0]] += 1
        store.set_token(source.id, e.key, iid, "")  # retried next sync (an empty token never matches)
        return
    stats.bytes += result.size
    ids: dict[str, str] = {"": iid}
    acl: dict[str, list[str]] = {}
    for doc in result.docs:
        meta = {**f.meta, **doc.meta} if doc.locator == "" else dict(doc.meta)
        if doc.locator == "":
            row = dict(top, content_hash=result.content_hash, size=result.size, extract_ms=round(result.ms, 2))
            principals = _principals(spec, list(f.principals) + list(doc.acl or []))
            if f.related:  # wiki-links and the like: the linked items' ids (stable: derived from their keys)
                meta["related"] = [item_id(str(source.id), "connector", k) for k in f.related]
            when = meta.get("start") if isinstance(meta.get("start"), (int, float)) else None
            row["modified"] = when or modified or doc.created
            title, author, created = doc.title or f.title, doc.author or f.author, doc.created or f.created
        else:
            did = item_id(iid, doc.locator)
            ids[doc.locator] = did
            row = {"id": did, "source_id": source.id, "parent_id": ids[doc.parent or ""], "locator": doc.locator,
                   "path_raw": None, "path": display, "uri": f"{uri}/{quote(doc.locator, safe='/@')}",
                   "name": safe_name(doc.name), "mime": doc.mime, "size": doc.size,
                   "mtime_ns": top["mtime_ns"], "modified": doc.modified or doc.created or modified, "owner": owner,
                   "content_hash": doc.content_hash}
            principals = _principals(spec, doc.acl) if doc.acl else acl[doc.parent or ""]
            title, author, created = doc.title, doc.author, doc.created
        acl[doc.locator] = principals
        status = "error" if doc.error else ("metadata" if meta.get("metadata_only") else "ok")
        if doc.error:
            stats.errors[doc.error[0]] += 1
        row.update(title=title, type=doc.type, created=created,
                   author=author, status=status, error_kind=doc.error[0] if doc.error else None,
                   error=doc.error[1] if doc.error else None, meta=json.dumps(meta, default=str) if meta else None)
        cat.put_item(ItemRecord(**row), principals, doc.chunks)
        stats.documents += 1
        stats.passages += len(doc.chunks)
    store.set_token(source.id, e.key, iid, e.token)


def connector_sources(data: DataDir) -> Iterator[tuple[Source, dict[str, Any]]]:
    """Each connector source with its sync state (for status and the server)."""
    states = ConnectorStore(data.catalog.db).states()
    for s in data.catalog.sources():
        if "(removed" not in s.root and s.id in states:
            yield s, states[s.id]




def sync_due(data: DataDir, config: Config, indexer: Indexer, sources: list[Source]) -> list[RunStats]:
    """Sync the connector sources among ``sources`` whose interval has passed (``watch`` calls this often)."""
    if not sources:
        return []
    return [sync_connector(data, config, s, indexer) for s in due(ConnectorStore(data.catalog.db), sources)]
