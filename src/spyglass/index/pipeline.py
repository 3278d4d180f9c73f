"""Indexing: walk a source, decide what changed, extract in worker processes, write the catalog, then bring the
lexical index in line with the catalog.

Change detection: size and mtime first; when they differ the content hash decides (a touched but unchanged file is
not re-extracted). A new path whose content matches a vanished file is a move or rename: the item keeps its id and
extracted passages. Every step is resumable: the catalog is committed in small transactions and marks items whose
lexical entries are not yet committed, so a killed run leaves a consistent directory and the next run finishes it.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from typing import Any
from urllib.parse import quote

from spyglass.core.config import Config
from spyglass.core.ids import content_hasher, item_id
from spyglass.core.progress import NullProgress, Progress
from spyglass.extraction.registry import SLACK_EXPORT, file_type, mime_type
from spyglass.extraction.worker import ExtractorPool, FileResult, Task
from spyglass.index.activity import ActivityLog
from spyglass.index.catalog import FileState, ItemRecord, Source, _file_uri
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


RETRYABLE = ("ocr-missing", "caption-missing", "asr-missing")  # indexed, but `index --retry-failed` reads them again


def _media_missing(meta: dict[str, Any]) -> str | None:
    if meta.get("ocr") == "missing":
        return "ocr-missing"
    if meta.get("caption") == "missing":
        return "caption-missing"
    if meta.get("asr") == "missing":  # a recording indexed without the audio extra: no transcript yet
        return "asr-missing"
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
        """Mark and sweep, in memory bounded by a chunk of files (not by the size of the source): the walk marks
        every unchanged file as seen and parks the rest in the catalog's ``index_todo``; then the parked files are
        processed in chunks (moves first, against the files the walk did not see), and what was never seen is
        tombstoned."""
        stats = RunStats()
        t0 = time.perf_counter()
        # files holding a document to retry: one query for the run, not one per chunk of the walk
        inside = self.cat.files_with_children_in(source.id, RETRYABLE) if retry_failed else set()
        mark = self._mark(source, stats, retry_failed, inside)
        missing = self.cat.unseen_files(source.id, mark)
        self.progress.start(f"Indexing {source.name}", self.cat.todo_count(source.id))
        try:
            for raws in self.cat.todo_chunks(source.id, self.CHUNK):
                entries = [_entry(js) for js in self.cat.todo_entries(source.id, raws)]
                states = self.cat.file_states_of(source.id, raws)
                stats.scanned -= len(entries)  # counted by the walk already
                self._process(source, entries, states, missing, stats, retry_failed, sync=False,
                              progress_started=True, inside=inside)
                with self._transaction():
                    self.cat.todo_done(source.id, raws)
        finally:
            self.progress.stop()
        self._tombstone(missing, stats)
        self.sync_lexical()
        self.cat.touch_source(source.id)
        stats.seconds = time.perf_counter() - t0
        return stats

    CHUNK = 1000  # files held in memory at a time

    def _mark(self, source: Source, stats: RunStats, retry_failed: bool, inside: set[bytes]) -> int:
        """Walk the source: unchanged files are marked seen (the new ``mark``), the others parked for processing."""
        with self._transaction():
            mark = self.cat.next_mark(source.id)  # and forget what a killed run had parked: the walk parks it again
        self.progress.start(f"Scanning {source.root}", None)
        chunk: list[FileEntry] = []
        try:
            for e in walk(source.root, self.config.index, exclude=(str(self.data.home),),
                          follow_outside=bool(source.follow_links_outside)):
                chunk.append(e)
                if len(chunk) >= self.CHUNK:
                    self._mark_chunk(source, chunk, mark, stats, retry_failed, inside)
                    chunk = []
            self._mark_chunk(source, chunk, mark, stats, retry_failed, inside)
        finally:
            self.progress.stop()
        return mark

    def _mark_chunk(self, source: Source, chunk: list[FileEntry], mark: int, stats: RunStats,
                    retry_failed: bool, inside: set[bytes]) -> None:
        states = self.cat.file_states_of(source.id, [e.raw for e in chunk])
        again = self._again(source, list(states), inside)
        parked = [e for e in chunk if not _unchanged(e, states.get(e.raw), again, retry_failed)]
        with self._transaction():
            self.cat.mark_seen([st.id for st in states.values()], mark)
            self.cat.park(source.id, [(e.raw, _entry_json(e)) for e in parked])
        stats.scanned += len(chunk)
        stats.unchanged += len(chunk) - len(parked)
        self.progress.advance(len(chunk))

    def apply_paths(self, source: Source, paths: list[str]) -> RunStats:
        """Bring the index in line with a few paths that changed (``watch``): created, modified, deleted or moved
        files and folders."""
        stats = RunStats()
        t0 = time.perf_counter()
        entries: list[FileEntry] = []
        states: dict[bytes, FileState] = {}
        for p in dict.fromkeys(paths):
            if os.path.lexists(p):
                if os.path.isdir(p) and not os.path.islink(p):
                    from spyglass.sources.folder import is_slack_export_dir

                    if not is_slack_export_dir(p):
                        # a folder appeared or moved in: walk it; its vanished children show up as missing below
                        entries.extend(walk(p, self.config.index, exclude=(str(self.data.home),),
                                            follow_outside=bool(source.follow_links_outside), source_root=source.root))
                        states.update(self.cat.file_states_under(source.id, p))
                        continue
                    from spyglass.sources.folder import _container_entry

                    entries.append(_container_entry(p, os.stat(p)))
                else:
                    try:
                        entries.append(stat_entry(p, source.root, bool(source.follow_links_outside)))
                    except FileNotFoundError:
                        pass
            states.update(self.cat.file_states_under(source.id, p))
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

    def pool(self) -> ExtractorPool:
        if self._pool is None and self.config.cluster.address:  # the same contract on a Ray cluster
            from spyglass.extraction.ray_pool import RayExtractorPool

            self._pool = RayExtractorPool(self.config.cluster, self.config.limits,  # type: ignore[assignment]
                                          self.config.index.chunk_max_words, self.config.media, (str(self.data.home),))
        if self._pool is None:
            self._pool = ExtractorPool(self.config.workers, self.config.limits, self.config.index.chunk_max_words,
                                       self.config.media)
        return self._pool

    def _process(self, source: Source, entries: list[FileEntry], states: dict[bytes, FileState],
                 missing: dict[bytes, FileState], stats: RunStats, retry_failed: bool, *, sync: bool = True,
                 progress_started: bool = False, inside: set[bytes] | None = None) -> None:
        """Bring the catalog in line with what the walk found, then the lexical index with the catalog: decide what
        changed, follow moves, tombstone what vanished, record what cannot be read, extract the rest. ``missing``
        (files not found any more) is consumed by the moves; with ``sync`` the rest is tombstoned and the lexical
        index committed. ``inside``: with ``retry_failed``, the files holding a document to retry (:meth:`_again`)."""
        stats.scanned += len(entries)
        again = self._again(source, list(states), inside or set())
        todo = self._decide(entries, states, again, stats, retry_failed)
        new = self._follow_moves(source, todo.new, missing, stats)
        if sync:
            self._tombstone(missing, stats)
        self._record_errors(source, todo.failed, stats)
        if progress_started:  # the extracted files advance it one by one
            self.progress.advance(len(entries) - len(todo.changed) - len(new))
        self._extract(source, todo.changed + [(e, None) for e in new], todo.reread, stats, progress_started)
        if sync:
            self.sync_lexical()

    def _again(self, source: Source, raws: list[bytes], inside: set[bytes]) -> _Again:
        """What makes an unchanged file be read again: readers that changed since (a folder's mode, a chmod), and,
        with ``retry_failed``, a document inside it that waits for OCR or a caption (an image attached to a mail):
        ``inside``, the files of the source holding one, found once per run."""
        if not raws:
            return _Again()
        return _Again(held=self.cat.file_principals(source.id, raws), inside=inside)

    def _decide(self, entries: list[FileEntry], states: dict[bytes, FileState], again: _Again, stats: RunStats,
                retry_failed: bool) -> _Todo:
        """Sort the walk's entries: unchanged (counted), failed before reading (with their reason), new, changed
        (``reread``: the bytes are the same, but the readers or a document inside are not)."""
        todo = _Todo()
        for e in entries:
            st = states.get(e.raw)
            if _unchanged(e, st, again, retry_failed):
                stats.unchanged += 1
                continue
            if st is not None and e.error is None and (e.raw in again.inside or not again.readers_hold(e)):
                todo.reread.add(e.raw)
            err = e.error or self._refusal(e)
            if err is not None:
                if st is not None and st.error_kind == err[0] and (err[0] != "too-large" or st.size == e.size):
                    stats.unchanged += 1
                else:
                    todo.failed.append((e, st, err))
            elif st is None:
                todo.new.append(e)
            else:
                todo.changed.append((e, st))
        return todo

    def _refusal(self, e: FileEntry) -> tuple[str, str] | None:
        """Why a file is not read at all: over the size limit, or empty."""
        limits = self.config.limits
        if e.size > int(limits.max_file_mb * 1024 * 1024):
            return "too-large", f"file is {_human(e.size)}, over the {limits.max_file_mb:g} MB limit (limits.max_file_mb)"
        if e.size == 0 and not e.is_dir_container:
            return "empty", "empty file (0 bytes)"
        return None

    def _follow_moves(self, source: Source, new: list[FileEntry], missing: dict[bytes, FileState],
                      stats: RunStats) -> list[FileEntry]:
        """A new path with the size and content hash of a vanished file is a move or rename: the item keeps its id
        and passages (nothing is re-read), and its recorded readers only when they are still the file's readers.
        Returns the entries that are really new; matched ones leave ``missing``."""
        if not missing or not new:
            return new
        by_size: dict[int, list[bytes]] = {}
        for raw, st in missing.items():
            if st.content_hash:
                by_size.setdefault(st.size, []).append(raw)
        still_new: list[FileEntry] = []
        with self._transaction():
            for e in new:
                cands = by_size.get(e.size)
                digest = _hash_file(e.path) if cands and not e.is_dir_container else None
                same = [r for r in cands or [] if digest and missing[r].content_hash == digest]
                held = self.cat.file_principals(source.id, same) if same else {}  # only for the rare hash match
                match = next((r for r in same if held.get(r) == tuple(sorted(e.principals))), None)
                if match is None:
                    still_new.append(e)
                    continue
                cands.remove(match)  # type: ignore[union-attr]
                self.cat.move_file(missing.pop(match).id, e.path, e.raw, _file_uri(e.path), e.name, e.mtime_ns,
                                   e.mtime_ns / 1e9, e.principals)
                stats.moved += 1
        return still_new

    def _tombstone(self, missing: dict[bytes, FileState], stats: RunStats) -> None:
        if not missing:
            return
        with self._transaction():
            for st in missing.values():
                self.cat.delete_file(st.id)
                stats.deleted += 1

    def _record_errors(self, source: Source, failed: list[tuple[FileEntry, FileState | None, tuple[str, str]]],
                       stats: RunStats) -> None:
        if not failed:
            return
        with self._transaction():
            for e, st, err in failed:
                self._write_error(source, e, st, err, None)
                stats.failed += 1
                stats.errors[err[0]] += 1

    def _extract(self, source: Source, work: list[tuple[FileEntry, FileState | None]], reread: set[bytes],
                 stats: RunStats, progress_started: bool = False) -> None:
        """Read the files in the worker pool and write what they hold, committing the catalog every 200 files or
        2 s (and the lexical index every ``commit_every`` passages), so a killed run loses little."""
        if not work:
            return
        work.sort(key=lambda w: w[0].path)
        by_key = dict(enumerate(work))
        # a failure, a missing OCR/caption or new readers: extract again even when the bytes are the same; the
        # worker reads only the file the walk saw (device and inode)
        tasks = (Task(key=i, path=e.path, name=e.name, kind=SLACK_EXPORT if e.is_dir_container else file_type(e.name),
                      known_hash=None if not st or st.status == "error" or st.error_kind in RETRYABLE
                      or e.raw in reread else st.content_hash,
                      is_dir=e.is_dir_container, st_dev=e.st_dev, st_ino=e.st_ino) for i, (e, st) in enumerate(work))
        if not progress_started:
            self.progress.start(f"Indexing {source.name}", len(work))
        last_commit = time.monotonic()
        try:
            with self._transaction():
                for task, result in self.pool().run(tasks):
                    e, st = by_key.pop(task.key)
                    self._write_result(source, e, st, result, stats)
                    self.progress.advance(1, e.name)
                    if self._since_commit >= 200 or time.monotonic() - last_commit > 2.0:
                        self._checkpoint()
                        last_commit = time.monotonic()
        finally:
            if not progress_started:
                self.progress.stop()

    def _checkpoint(self) -> None:
        """Commit the catalog's open transaction (and the lexical index when enough piled up), then open another."""
        self.cat.commit()
        if self.cat.dirty_passages() >= self.config.index.commit_every:
            self.sync_lexical()
        self.cat.begin()
        self._since_commit = 0

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self.cat.begin()
        try:
            yield
            self.cat.commit()
        except BaseException:
            self.cat.rollback()
            raise

    def _file_record(self, source: Source, e: FileEntry, iid: str, **fields: Any) -> ItemRecord:
        return ItemRecord(
            id=iid, source_id=source.id, path=_display(e.path), uri=_file_uri(e.path), name=_display(e.name),
            path_raw=e.raw, mime=mime_type(e.name) if not e.is_dir_container else "inode/directory", size=e.size,
            mtime_ns=e.mtime_ns, modified=e.mtime_ns / 1e9 if e.mtime_ns else None, owner=e.owner, **fields)

    def _write_error(self, source: Source, e: FileEntry, st: FileState | None, err: tuple[str, str],
                     digest: str | None) -> None:
        iid = st.id if st else self.cat.new_file_id(source.id, e.raw)
        if st:
            self.cat.delete_items(self.cat.descendants(iid))
        record = self._file_record(source, e, iid, type=file_type(e.name)[0], status="error", error_kind=err[0],
                                   error=err[1], content_hash=digest)
        self.cat.put_item(record, e.principals if err[0] != "broken-link" else (), [])
        self._since_commit += 1

    def _write_result(self, source: Source, e: FileEntry, st: FileState | None, result: FileResult,
                      stats: RunStats) -> None:
        if result.status == "unchanged" and st is not None:
            self.cat.update_stat(st.id, e.mtime_ns, e.size, e.mtime_ns / 1e9)
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
        iid = self._replace(e, st, result, stats) if st else self.cat.new_file_id(source.id, e.raw)
        stats.added += 1 if st is None else 0
        stats.bytes += e.size
        ids: dict[str, str] = {"": iid}
        effective_acl: dict[str, list[str]] = {}
        for doc in result.docs:
            record, principals = self._document_record(source, e, iid, ids, effective_acl, doc, result)
            effective_acl[doc.locator] = principals
            if doc.error is not None:
                stats.errors[doc.error[0]] += 1
            self.cat.put_item(record, sorted(set(principals)), doc.chunks)
            stats.documents += 1
            stats.passages += len(doc.chunks)
        self._since_commit += 1

    def _replace(self, e: FileEntry, st: FileState, result: FileResult, stats: RunStats) -> str:
        """A known file with new content: its old children go; an edit is logged for the file's owner."""
        self.cat.delete_items(self.cat.descendants(st.id))
        stats.updated += 1
        if e.owner and st.content_hash != result.content_hash and self.config.activity.enabled:
            # an edit (new content at a new modified time), credited to the file's owner: learning from use
            ActivityLog(self.cat).log_event(e.owner, "edit", st.id, at=e.mtime_ns / 1e9)
        return st.id

    def _document_record(self, source: Source, e: FileEntry, iid: str, ids: dict[str, str],
                         effective_acl: dict[str, list[str]], doc: Any, result: FileResult
                         ) -> tuple[ItemRecord, list[str]]:
        """The catalog record of one extracted document (the file itself, or one inside it) and its principals: what
        the content declares (recipients, members), else its parent's, the file's for the file itself."""
        owner = [f"user:{e.owner}"] if e.owner else []
        status = "error" if doc.error is not None else "metadata" if doc.meta.get("metadata_only") else "ok"
        common = dict(
            title=_display(doc.title) if doc.title else None, type=doc.type, created=doc.created, author=doc.author,
            status=status, error_kind=doc.error[0] if doc.error else _media_missing(doc.meta),
            error=doc.error[1] if doc.error else None, meta=json.dumps(doc.meta, default=str) if doc.meta else None)
        if doc.locator == "":
            principals = list(doc.acl) + owner if doc.acl else list(e.principals)
            return self._file_record(source, e, iid, content_hash=result.content_hash,
                                     extract_ms=round(result.ms, 2), **common), principals
        did = ids[doc.locator] = item_id(iid, doc.locator)
        # the content names its readers (docs/security.md): them only, and when it names none, the file's owner
        # alone (default-deny), never the file's readers
        principals = (list(doc.acl) or owner) if doc.acl is not None else effective_acl[doc.parent or ""]
        file_uri = _file_uri(e.path)
        return ItemRecord(
            id=did, source_id=source.id, parent_id=ids[doc.parent or ""], locator=doc.locator, path=_display(e.path),
            uri=f"{file_uri}#{quote(doc.locator, safe='/@')}", name=_display(doc.name), mime=doc.mime, size=doc.size,
            mtime_ns=e.mtime_ns, modified=doc.modified or doc.created or e.mtime_ns / 1e9, owner=e.owner,
            content_hash=doc.content_hash, **common), principals


@dataclass
class _Todo:
    """The walk's entries, sorted by :meth:`Indexer._decide`."""

    new: list[FileEntry] = field(default_factory=list)
    changed: list[tuple[FileEntry, FileState]] = field(default_factory=list)
    failed: list[tuple[FileEntry, FileState | None, tuple[str, str]]] = field(default_factory=list)
    reread: set[bytes] = field(default_factory=set)


@dataclass
class _Again:
    """See :meth:`Indexer._again`: recorded readers per file, and files holding a document to retry."""

    held: dict[bytes, tuple[str, ...]] = field(default_factory=dict)
    inside: set[bytes] = field(default_factory=set)

    def readers_hold(self, e: FileEntry) -> bool:
        return e.raw not in self.held or self.held[e.raw] == tuple(sorted(e.principals))


def _unchanged(e: FileEntry, st: FileState | None, again: _Again, retry_failed: bool) -> bool:
    """Nothing to do for this file: same size and time, readers unchanged, and nothing to retry (a missing extra
    is retried on every run: it may have been installed since)."""
    return (e.error is None and st is not None and st.size == e.size and st.mtime_ns == e.mtime_ns
            and st.error_kind != "missing-extra" and again.readers_hold(e)
            and not (retry_failed and (st.status == "error" or st.error_kind in RETRYABLE or e.raw in again.inside)))


def _entry_json(e: FileEntry) -> str:
    return json.dumps({f.name: getattr(e, f.name) for f in fields(FileEntry)})


def _entry(text: str) -> FileEntry:
    d = json.loads(text)
    d["principals"] = tuple(d.get("principals") or ())
    if d.get("error") is not None:
        d["error"] = tuple(d["error"])
    return FileEntry(**d)


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
