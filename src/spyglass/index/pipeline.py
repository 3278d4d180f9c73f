"""Indexing: walk a source, decide what changed, extract in worker processes, write the catalog, then bring the
lexical index in line with the catalog.

Change detection: size and mtime first; when they differ the content hash decides (a touched but unchanged file is
not re-extracted). A new path whose content matches a vanished file is a move or rename: the item keeps its id and
extracted passages. Every step is resumable: the catalog is committed in small transactions and marks items whose
lexical entries are not yet committed, so a killed run leaves a consistent directory and the next run finishes it.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote

from spyglass.core.config import Config
from spyglass.core.ids import content_hasher, item_id
from spyglass.core.progress import NullProgress, Progress
from spyglass.extraction.registry import SLACK_EXPORT, file_type, mime_type
from spyglass.extraction.worker import ExtractorPool, FileResult, Task
from spyglass.index.activity import ActivityLog
from spyglass.index.catalog import Source, _file_uri
from spyglass.index.store import DataDir
from spyglass.sources.folder import FileEntry, stat_entry, walk


@dataclass
class RunStats:
    scanned: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    moved: int = 0
    deleted: int = 0
    failed: int = 0
    documents: int = 0  # documents written, including attachments, messages, channel-days
    passages: int = 0
    bytes: int = 0
    seconds: float = 0.0
    errors: Counter = field(default_factory=Counter)
    semantic: dict[str, Any] = field(default_factory=dict)  # what the embedding pass did
    images: dict[str, Any] = field(default_factory=dict)  # what the image-embedding pass did ([media] clip_*)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["errors"] = dict(self.errors)
        return d

    def merge(self, other: RunStats) -> None:
        for k, v in other.__dict__.items():
            if k == "errors":
                self.errors.update(v)
            elif k in ("semantic", "images"):
                getattr(self, k).update(v)
            else:
                setattr(self, k, getattr(self, k) + v)


RETRYABLE = ("ocr-missing", "caption-missing")  # indexed, but `index --retry-failed` reads them again


def _media_missing(meta: dict[str, Any]) -> str | None:
    if meta.get("ocr") == "missing":
        return "ocr-missing"
    if meta.get("caption") == "missing":
        return "caption-missing"
    return None


def source_kind(root: str) -> str:
    lower = root.lower()
    if os.path.isdir(root):
        from spyglass.sources.folder import is_slack_export_dir

        return "chat" if is_slack_export_dir(root) else "folder"
    if lower.endswith((".mbox", ".eml", ".msg")):
        return "mail"
    if lower.endswith(".zip"):
        import zipfile

        try:
            with zipfile.ZipFile(root) as zf:
                if "channels.json" in {n.rsplit("/", 1)[-1] for n in zf.namelist()}:
                    return "chat"
        except (zipfile.BadZipFile, OSError):
            pass
    return "file"


class Indexer:
    def __init__(self, data: DataDir, config: Config, progress: Progress | None = None) -> None:
        self.data = data
        self.cat = data.catalog
        self.config = config
        self.progress = progress or NullProgress()
        self._pool: ExtractorPool | None = None
        self._since_commit = 0

    # -- public ---------------------------------------------------------------------------------------------
    def add_source(self, root: str, follow_links_outside: bool | None = None) -> Source:
        root = os.path.abspath(os.path.expanduser(root))
        if not os.path.exists(root):
            from spyglass.core.errors import SpyglassError

            raise SpyglassError(f"{root}: no such file or folder")
        known = self.cat.source_by_root(root) is not None
        src = self.cat.add_source(source_kind(root), root, os.path.basename(root.rstrip("/")) or root)
        follow = follow_links_outside
        if follow is None and not known:
            follow = self.config.index.follow_links_outside
        if follow is not None and bool(src.follow_links_outside) != follow:  # kept with the source for later runs
            self.cat.set_follow_links_outside(src.id, follow)
            src.follow_links_outside = follow
        return src

    def index_source(self, source: Source, retry_failed: bool = False) -> RunStats:
        stats = RunStats()
        t0 = time.perf_counter()
        self.progress.start(f"Scanning {source.root}", None)
        entries: list[FileEntry] = []
        for e in walk(source.root, self.config.index, exclude=(str(self.data.home),),
                      follow_outside=bool(source.follow_links_outside)):
            entries.append(e)
            if len(entries) % 500 == 0:
                self.progress.advance(500)
        self.progress.stop()
        states = self.cat.file_states(source.id)
        seen = {e.raw for e in entries}
        missing = {raw: st for raw, st in states.items() if raw not in seen}
        self._process(source, entries, states, missing, stats, retry_failed)
        self.cat.touch_source(source.id)
        stats.seconds = time.perf_counter() - t0
        return stats

    def apply_paths(self, source: Source, paths: list[str]) -> RunStats:
        """Bring the index in line with a few paths that changed (``watch``): created, modified, deleted or moved
        files and folders."""
        stats = RunStats()
        t0 = time.perf_counter()
        entries: list[FileEntry] = []
        missing: dict[bytes, tuple] = {}
        states: dict[bytes, tuple] = {}
        for p in dict.fromkeys(paths):
            if os.path.lexists(p):
                if os.path.isdir(p) and not os.path.islink(p):
                    from spyglass.sources.folder import is_slack_export_dir

                    if not is_slack_export_dir(p):
                        # a folder appeared or moved in: walk it; its vanished children show up as missing below
                        entries.extend(walk(p, self.config.index, exclude=(str(self.data.home),),
                                            follow_outside=bool(source.follow_links_outside), source_root=source.root))
                        for raw, st in self._states_under(source, p).items():
                            states[raw] = st
                        continue
                    from spyglass.sources.folder import _container_entry

                    entries.append(_container_entry(p, os.stat(p)))
                else:
                    try:
                        entries.append(stat_entry(p, source.root, bool(source.follow_links_outside)))
                    except FileNotFoundError:
                        pass
            states.update(self._states_under(source, p))
        entries = list({e.raw: e for e in entries}.values())  # a file can arrive by its own event and its folder's
        seen = {e.raw for e in entries}
        missing = {raw: st for raw, st in states.items() if raw not in seen and not os.path.lexists(os.fsdecode(raw))}
        self._process(source, entries, states, missing, stats, retry_failed=False)
        stats.seconds = time.perf_counter() - t0
        return stats

    def remove_source(self, source: Source) -> int:
        self.cat.begin()
        n = self.cat.remove_source(source.id)
        self.cat.commit()
        self.sync_lexical()
        return n

    def sync_lexical(self) -> int:
        """Write dirty catalog items to the lexical index, commit it, then mark them clean."""
        lex = self.data.lexical
        done: list[str] = []
        passages = 0
        for batch in self.cat.dirty_items():
            for item in batch:
                if isinstance(item, str):
                    lex.remove(item)
                    done.append(item)
                else:
                    ext = os.path.splitext(item.name)[1].lower().lstrip(".")
                    passages += lex.put(item, ext)
                    done.append(item.id)
            if passages >= self.config.index.commit_every:
                self._commit_lexical(done)
                done, passages = [], 0
        self._commit_lexical(done)
        return len(done)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    # -- internals --------------------------------------------------------------------------------------------
    def _commit_lexical(self, done: list[str]) -> None:
        if not done:
            return
        self.data.lexical.commit()
        self.cat.begin()
        self.cat.mark_clean(done)
        self.cat.commit()

    def _states_under(self, source: Source, path: str) -> dict[bytes, tuple]:
        raw = os.fsencode(path)
        rows = self.cat.db.execute(
            "SELECT path_raw, id, size, mtime_ns, content_hash, status, error_kind FROM items WHERE source_id = ? "
            "AND parent_id IS NULL AND status != 'deleted' AND (path_raw = ? OR substr(path_raw, 1, ?) = ?)",
            (source.id, raw, len(raw) + 1, raw + b"/"),
        )
        return {bytes(r[0]): tuple(r[1:]) for r in rows}

    def pool(self) -> ExtractorPool:
        if self._pool is None:
            self._pool = ExtractorPool(self.config.workers, self.config.limits, self.config.index.chunk_max_words,
                                       self.config.media)
        return self._pool

    def _process(
        self,
        source: Source,
        entries: list[FileEntry],
        states: dict[bytes, tuple],
        missing: dict[bytes, tuple],
        stats: RunStats,
        retry_failed: bool,
    ) -> None:
        limit = int(self.config.limits.max_file_mb * 1024 * 1024)
        new: list[FileEntry] = []
        work: list[tuple[FileEntry, tuple | None]] = []
        direct: list[tuple[FileEntry, tuple | None, tuple[str, str]]] = []
        stats.scanned += len(entries)
        # who may read each file as recorded: a file whose readers changed (a folder's mode, a chmod) is read again
        held = self.cat.file_principals(source.id) if states else {}
        reread: set[bytes] = set()
        # files holding a document that waits for OCR or a caption (an image attached to a mail, in a zip)
        retry_inside = self.cat.files_with_children_in(source.id, RETRYABLE) if retry_failed and states else set()
        for e in entries:
            st = states.get(e.raw)
            if e.error is not None:
                if st is None or st[5] != e.error[0]:
                    direct.append((e, st, e.error))
                else:
                    stats.unchanged += 1
            elif st is not None and st[1] == e.size and st[2] == e.mtime_ns and st[5] != "missing-extra" and not (
                retry_failed and (st[4] == "error" or st[5] in RETRYABLE or e.raw in retry_inside)
            ):
                if e.raw in held and held[e.raw] != tuple(sorted(e.principals)):
                    reread.add(e.raw)
                    work.append((e, st))
                else:
                    stats.unchanged += 1
            elif e.size > limit:
                if st is not None and st[5] == "too-large" and st[1] == e.size:
                    stats.unchanged += 1
                else:
                    direct.append((e, st, ("too-large", f"file is {_human(e.size)}, over the "
                                                         f"{self.config.limits.max_file_mb:g} MB limit (limits.max_file_mb)")))
            elif e.size == 0 and not e.is_dir_container:
                if st is not None and st[5] == "empty":
                    stats.unchanged += 1
                else:
                    direct.append((e, st, ("empty", "empty file (0 bytes)")))
            elif st is None:
                new.append(e)
            else:
                work.append((e, st))

        # moves and renames: a new path with the size and hash of a vanished file
        if missing and new:
            by_size: dict[int, list[bytes]] = {}
            for raw, st in missing.items():
                if st[3]:
                    by_size.setdefault(st[1], []).append(raw)
            still_new: list[FileEntry] = []
            self.cat.begin()
            try:
                for e in new:
                    cands = by_size.get(e.size)
                    if cands and not e.is_dir_container:
                        digest = _hash_file(e.path)
                        # a move keeps the recorded readers: only when they are still the file's readers
                        match = next((r for r in cands if missing[r][3] == digest
                                      and held.get(r) == tuple(sorted(e.principals))), None)
                        if match is not None:
                            iid = missing.pop(match)[0]
                            cands.remove(match)
                            self.cat.move_file(iid, e.path, e.raw, _file_uri(e.path), e.name, e.mtime_ns,
                                               e.mtime_ns / 1e9, e.principals)
                            stats.moved += 1
                            continue
                    still_new.append(e)
                self.cat.commit()
            except BaseException:
                self.cat.rollback()
                raise
            new = still_new

        if missing:
            self.cat.begin()
            for st in missing.values():
                self.cat.delete_file(st[0])
                stats.deleted += 1
            self.cat.commit()

        if direct:
            self.cat.begin()
            for e, st, err in direct:
                self._write_error(source, e, st, err, None)
                stats.failed += 1
                stats.errors[err[0]] += 1
            self.cat.commit()

        work.extend((e, None) for e in new)
        if not work:
            self.sync_lexical()
            return
        work.sort(key=lambda w: w[0].path)
        by_key = {i: w for i, w in enumerate(work)}
        tasks = (
            Task(
                key=i,
                path=e.path,
                name=e.name,
                kind=SLACK_EXPORT if e.is_dir_container else file_type(e.name),
                # a failure, a missing OCR/caption or new readers: extract again even when the bytes are the same
                known_hash=None if not st or st[4] == "error" or st[5] in RETRYABLE or e.raw in reread
                or e.raw in retry_inside else st[3],
                is_dir=e.is_dir_container,
                st_dev=e.st_dev,  # the worker reads only the file the walk saw
                st_ino=e.st_ino,
            )
            for i, (e, st) in enumerate(work)
        )
        self.progress.start(f"Indexing {source.name}", len(work))
        last_commit = time.monotonic()
        self.cat.begin()
        try:
            for task, result in self.pool().run(tasks):
                e, st = by_key.pop(task.key)
                self._write_result(source, e, st, result, stats)
                self.progress.advance(1, e.name)
                if self._since_commit >= 200 or time.monotonic() - last_commit > 2.0:
                    self.cat.commit()
                    if self._since_commit_passages() >= self.config.index.commit_every:
                        self.sync_lexical()
                    self.cat.begin()
                    last_commit = time.monotonic()
                    self._since_commit = 0
            self.cat.commit()
        except BaseException:
            self.cat.rollback()
            raise
        finally:
            self.progress.stop()
        self.sync_lexical()

    def _since_commit_passages(self) -> int:
        return self.cat.db.execute("SELECT coalesce(sum(n_chunks), 0) + count(*) FROM items WHERE lex_dirty = 1").fetchone()[0]

    def _top_row(self, source: Source, e: FileEntry, iid: str) -> dict[str, Any]:
        return {
            "id": iid,
            "source_id": source.id,
            "parent_id": None,
            "locator": "",
            "path_raw": e.raw,
            "path": _display(e.path),
            "uri": _file_uri(e.path),
            "name": _display(e.name),
            "mime": mime_type(e.name) if not e.is_dir_container else "inode/directory",
            "size": e.size,
            "mtime_ns": e.mtime_ns,
            "modified": e.mtime_ns / 1e9 if e.mtime_ns else None,
            "owner": e.owner,
        }

    def _write_error(self, source: Source, e: FileEntry, st: tuple | None, err: tuple[str, str],
                     digest: str | None) -> None:
        iid = st[0] if st else self.cat.new_file_id(source.id, e.raw)
        if st:
            for did in self.cat.descendants(iid):
                self.cat.delete_items([did])
        row = self._top_row(source, e, iid)
        row.update(type=file_type(e.name)[0], status="error", error_kind=err[0], error=err[1], content_hash=digest)
        principals = e.principals if err[0] != "broken-link" else ()
        self.cat.put_item(row, principals, [])
        self._since_commit += 1

    def _write_result(self, source: Source, e: FileEntry, st: tuple | None, result: FileResult,
                      stats: RunStats) -> None:
        if result.status == "unchanged" and st is not None:
            self.cat.update_stat(st[0], e.mtime_ns, e.size, e.mtime_ns / 1e9)
            stats.unchanged += 1
            return
        if result.status == "error" and result.error and result.error[0] == "changed" and st is not None:
            stats.unchanged += 1  # replaced between walk and read: keep what is indexed, the next run reads anew
            return
        if result.status == "error":
            assert result.error is not None
            self._write_error(source, e, st, result.error, result.content_hash)
            stats.failed += 1
            stats.errors[result.error[0]] += 1
            return
        iid = st[0] if st else self.cat.new_file_id(source.id, e.raw)
        if st:
            old_children = self.cat.descendants(iid)
            if old_children:
                self.cat.delete_items(old_children)
            stats.updated += 1
            if e.owner and st[3] != result.content_hash and self.config.activity.enabled:
                # an edit (new content at a new modified time), credited to the file's owner: learning from use
                ActivityLog(self.cat).log_event(e.owner, "edit", iid, at=e.mtime_ns / 1e9)
        else:
            stats.added += 1
        stats.bytes += e.size
        ids: dict[str, str] = {"": iid}
        effective_acl: dict[str, list[str]] = {}
        file_uri = _file_uri(e.path)
        for doc in result.docs:
            if doc.locator == "":
                row = self._top_row(source, e, iid)
                principals = list(doc.acl) + ([f"user:{e.owner}"] if e.owner else []) if doc.acl else list(e.principals)
                status = "metadata" if doc.meta.get("metadata_only") else "ok"
                row.update(content_hash=result.content_hash, extract_ms=round(result.ms, 2))
            else:
                parent_id = ids[doc.parent or ""]
                did = item_id(iid, doc.locator)
                ids[doc.locator] = did
                row = {
                    "id": did,
                    "source_id": source.id,
                    "parent_id": parent_id,
                    "locator": doc.locator,
                    "path_raw": None,
                    "path": _display(e.path),
                    "uri": f"{file_uri}#{quote(doc.locator, safe='/@')}",
                    "name": _display(doc.name),
                    "mime": doc.mime,
                    "size": doc.size,
                    "mtime_ns": e.mtime_ns,
                    "modified": doc.modified or doc.created or e.mtime_ns / 1e9,
                    "owner": e.owner,
                    "content_hash": doc.content_hash,
                }
                if doc.acl is not None:  # the content names its readers (docs/security.md): them only, and
                    # when it names none, the file's owner alone (default-deny), never the file's readers
                    principals = list(doc.acl) or ([f"user:{e.owner}"] if e.owner else [])
                else:
                    principals = effective_acl[doc.parent or ""]
                status = "metadata" if doc.meta.get("metadata_only") else "ok"
            effective_acl[doc.locator] = principals
            if doc.error is not None:
                status = "error"
                stats.errors[doc.error[0]] += 1
            row.update(
                title=_display(doc.title) if doc.title else None,
                type=doc.type,
                created=doc.created,
                author=doc.author,
                status=status,
                # "ocr-missing" / "caption-missing" on a readable file: --retry-failed re-reads it later
                error_kind=doc.error[0] if doc.error else _media_missing(doc.meta),
                error=doc.error[1] if doc.error else None,
                meta=json.dumps(doc.meta, default=str) if doc.meta else None,
            )
            self.cat.put_item(row, sorted(set(principals)), doc.chunks)
            stats.documents += 1
            stats.passages += len(doc.chunks)
        self._since_commit += 1


def _display(s: str) -> str:
    """A printable form of a name that may hold undecodable bytes (surrogate escapes)."""
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return s.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n} B"


def _hash_file(path: str) -> str | None:
    h = content_hasher()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
    except OSError:
        return None
    return h.hexdigest()
