"""Extraction in separate processes, so that a hostile file cannot stop or crash the run.

Each worker handles one file at a time. The parent kills a worker that exceeds the per-file time limit and starts a
new one; a worker that dies (segfault in a format library, the kernel's OOM killer) is replaced the same way. Each
worker runs under an address-space limit, so a decompression bomb fails with ``MemoryError`` inside the worker.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import multiprocessing.connection
import os
import resource
import stat
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spyglass.core.config import LimitSettings, MediaSettings
from spyglass.core.errors import ExtractionError
from spyglass.core.ids import content_hasher
from spyglass.core.types import Chunk, Extracted, Segment
from spyglass.extraction.base import Blob, Context
from spyglass.extraction.chunking import chunk_segments


@dataclass(slots=True)
class Task:
    key: Any  # opaque to the worker: the caller's handle
    path: str
    name: str
    kind: tuple[str, str | None]
    known_hash: str | None = None
    is_dir: bool = False
    st_dev: int = 0  # the identity the walk saw (0: unknown); another file at the path is not read
    st_ino: int = 0


@dataclass(slots=True)
class DocRecord:
    """One document found in a file: the file itself (locator ``""``) or a document inside it."""

    locator: str
    parent: str | None
    name: str
    type: str
    title: str | None = None
    author: str | None = None
    created: float | None = None
    modified: float | None = None
    size: int = 0
    mime: str | None = None
    content_hash: str | None = None
    acl: list[str] | None = None
    chunks: list[Chunk] = field(default_factory=list)
    error: tuple[str, str] | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class FileResult:
    status: str  # "ok" | "unchanged" | "error"
    content_hash: str | None = None
    size: int = 0
    docs: list[DocRecord] = field(default_factory=list)
    error: tuple[str, str] | None = None
    ms: float = 0.0
    # a speech model was loaded: replace the process afterwards (its memory would count against the next files)
    recycle: bool = False


@dataclass(slots=True)
class _Caps:
    """The size caps of one file: text per document, passages over the whole file (what is left of them)."""

    limits: LimitSettings
    passages_left: int

    @property
    def text_chars(self) -> int:
        return int(self.limits.max_text_mb * 1024 * 1024)


def cap_text(segments: list[Segment], cap: int) -> tuple[list[Segment], int]:
    """The segments cut to ``cap`` characters in all (counting the blank line that joins two); returns them with
    the number of characters there were (equal to what is kept when nothing was cut)."""
    total = sum(len(s.text) for s in segments) + 2 * max(0, len(segments) - 1)
    if total <= cap:
        return segments, total
    out: list[Segment] = []
    used = 0
    for seg in segments:
        room = cap - used
        if room <= 0:
            break
        out.append(seg if len(seg.text) <= room else Segment(seg.text[:room], seg.page, seg.label))
        used += len(seg.text) + 2
    return out, total


def _note(meta: dict[str, Any], why: str) -> dict[str, Any]:
    meta = dict(meta)
    meta["truncated"] = f"{meta['truncated']}; {why}" if meta.get("truncated") else why
    return meta


def _flatten(ex: Extracted, rec: DocRecord, max_words: int, out: list[DocRecord], caps: _Caps) -> None:
    rec.title = ex.title
    rec.author = ex.author
    rec.created = ex.created
    rec.meta = ex.meta
    if ex.acl is not None:
        rec.acl = ex.acl
    segments, total = cap_text(ex.segments, caps.text_chars)
    if total > caps.text_chars:
        rec.meta = _note(rec.meta, f"text cut at {caps.limits.max_text_mb:g} MB (limits.max_text_mb): "
                                   f"{caps.text_chars:,} of {total:,} characters kept")
    chunks = chunk_segments(segments, max_words) if caps.passages_left > 0 else []
    if len(chunks) > caps.passages_left or (segments and caps.passages_left <= 0):
        rec.meta = _note(rec.meta, f"passages past the file's {caps.limits.max_passages:,} not indexed "
                                   "(limits.max_passages)")
        chunks = chunks[: max(0, caps.passages_left)]
    caps.passages_left -= len(chunks)
    rec.chunks = chunks
    out.append(rec)
    for child in ex.children:
        loc = f"{rec.locator}/{child.locator}" if rec.locator else child.locator
        crec = DocRecord(
            locator=loc,
            parent=rec.locator,
            name=child.name,
            type=(child.extracted.type if child.extracted and child.extracted.type else child.type),
            modified=child.modified,
            size=child.size,
            mime=child.mime,
            content_hash=child.content_hash,
            acl=child.acl,
            error=child.error,
        )
        if child.extracted is not None:
            _flatten(child.extracted, crec, max_words, out, caps)
        else:
            out.append(crec)


def _hash_dir(path: Path, limits: LimitSettings) -> tuple[str, int]:
    """Content hash of a folder read as one document (an export): its regular files, in name order, without
    following links out of it; refuses more than ``limits.max_file_mb`` in all."""
    h = content_hasher()
    total = 0
    cap = int(limits.max_file_mb * 1024 * 1024)
    real_root = os.path.realpath(path)
    files = []
    for dirpath, dirs, names in os.walk(path):  # os.walk does not descend into linked folders
        dirs.sort()
        files.extend(os.path.join(dirpath, n) for n in names)
    for f in sorted(files):
        real = os.path.realpath(f)
        if not real.startswith(real_root.rstrip("/") + "/"):
            continue  # a link out of the folder: the export's reader refuses it too
        try:
            st = os.stat(real)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        with open(real, "rb") as fh:
            data = fh.read(cap - total + 1)
        total += len(data)
        if total > cap:
            raise ExtractionError("too-large", f"folder holds over {limits.max_file_mb:g} MB (limits.max_file_mb)")
        h.update(os.path.relpath(f, path).encode("utf-8", "surrogateescape") + b"\0")
        h.update(data)
    return h.hexdigest(), total


def _open_regular(path: Path, task: Task):
    """Open for reading without blocking (a FIFO or device put in the file's place after the walk would block or
    never end), and only when what was opened is a regular file and the one the walk saw (device and inode: a file
    swapped for a link to another after the walk is not read)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ExtractionError("special-file", "not a regular file when read: not read (only regular files are "
                                                  "indexed)")
        if task.st_ino and (st.st_dev, st.st_ino) != (task.st_dev, task.st_ino):
            raise ExtractionError("changed", "replaced by another file between the walk and the read: not read "
                                             "(the next run indexes what is there then)")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def process(task: Task, limits: LimitSettings, max_words: int, media: MediaSettings | None = None) -> FileResult:
    """Read, hash and extract one file. Never raises for bad input: errors come back in the result."""
    from spyglass.extraction.registry import extract_blob

    t0 = time.perf_counter()
    path = Path(task.path)
    ctx = Context(limits=limits, media=media or MediaSettings())
    digest: str | None = None
    try:
        if task.is_dir:
            digest, size = _hash_dir(path, limits)
            data = None
        else:
            with _open_regular(path, task) as fh:
                cap = int(limits.max_file_mb * 1024 * 1024)
                data = fh.read(cap + 1)
            if len(data) > cap:
                raise ExtractionError("too-large", f"file grew past the {limits.max_file_mb:g} MB limit while read")
            size = len(data)
            hasher = content_hasher()
            hasher.update(data)
            digest = hasher.hexdigest()
        if task.known_hash is not None and digest == task.known_hash:
            return FileResult("unchanged", digest, size, ms=(time.perf_counter() - t0) * 1000)
        if not task.is_dir and size == 0:
            raise ExtractionError("empty", "empty file (0 bytes)")
        blob = Blob(name=task.name, path=path, data=data)
        if task.is_dir:
            blob.data = None
        extracted = extract_blob(blob, ctx, task.kind)
        docs: list[DocRecord] = []
        top = DocRecord(locator="", parent=None, name=task.name, type=extracted.type or task.kind[0], size=size,
                        content_hash=digest)
        _flatten(extracted, top, max_words, docs, _Caps(limits, limits.max_passages))
        return FileResult("ok", digest, size, docs, ms=(time.perf_counter() - t0) * 1000)
    except ExtractionError as exc:
        return FileResult("error", digest, error=(exc.kind, exc.message), ms=(time.perf_counter() - t0) * 1000)
    except PermissionError:
        return FileResult("error", error=("permission", "permission denied"))
    except IsADirectoryError:
        return FileResult("error", error=("unsupported", "is a directory"))
    except FileNotFoundError:
        return FileResult("error", error=("io", "file vanished while being read"))
    except MemoryError:
        return FileResult("error", error=("memory", f"ran out of memory (limits.memory_mb = {limits.memory_mb})"))
    except OSError as exc:
        return FileResult("error", error=("io", f"read error: {exc.strerror or exc}"))


def _worker_main(conn: multiprocessing.connection.Connection, limits: dict, max_words: int) -> None:
    limits = dict(limits)
    media = MediaSettings(**limits.pop("_media", {}))
    lim = LimitSettings(**limits)
    if lim.memory_mb > 0:
        cap = lim.memory_mb * 1024 * 1024
        try:
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        except (ValueError, OSError):
            pass
    try:
        os.nice(5)
    except OSError:
        pass
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        try:
            result = process(task, lim, max_words, media)
            result.recycle = task.kind[0] in ("audio", "video") or any(
                "asr" in (getattr(d, "meta", None) or {}) for d in result.docs)
        except BaseException as exc:  # noqa: BLE001 - report anything unexpected as this file's error
            result = FileResult("error", error=("corrupt", f"extractor failed: {type(exc).__name__}: {exc}"))
        try:
            conn.send(result)
        except Exception as exc:  # result too large or not picklable
            conn.send(FileResult("error", error=("corrupt", f"could not return extraction result: {exc}")))


class _Worker:
    def __init__(self, ctx: Any, limits: dict, max_words: int) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child, limits, max_words), daemon=True)
        self.proc.start()
        child.close()
        self.task: Task | None = None
        self.started = 0.0

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.join(2)
        except Exception:
            pass
        self.conn.close()

    def retire(self) -> None:
        """Ask the process to exit on its own. A process that exits runs its finalizers, which unlink the named
        semaphores its libraries created (tqdm's lock inside faster-whisper); a killed one leaves them to the resource
        tracker, which warns about "leaked semaphore objects" at shutdown."""
        try:
            self.conn.send(None)
        except (BrokenPipeError, OSError):
            pass


class ExtractorPool:
    """A fixed set of extraction processes with per-file time limits."""

    def __init__(self, workers: int, limits: LimitSettings, max_words: int, media: MediaSettings | None = None) -> None:
        self.n = max(1, workers)
        self.limits = limits
        self.limits_dict = dataclasses.asdict(limits) | {"_media": dataclasses.asdict(media or MediaSettings())}
        self.max_words = max_words
        self._ctx = multiprocessing.get_context("forkserver")
        self._ctx.set_forkserver_preload(["spyglass.extraction.worker", "spyglass.extraction.registry"])
        self._workers: list[_Worker] = []
        self._retiring: list[_Worker] = []  # replaced after a speech model: exiting on their own

    def _spawn(self) -> _Worker:
        return _Worker(self._ctx, self.limits_dict, self.max_words)

    def __enter__(self) -> ExtractorPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self, grace_s: float = 5.0) -> None:
        """Let every process exit on its own (their finalizers run); kill those still alive after ``grace_s``."""
        for w in self._workers:
            w.retire()
        deadline = time.monotonic() + grace_s
        for w in self._workers + self._retiring:
            w.proc.join(max(0.0, deadline - time.monotonic()))
            if w.proc.is_alive():
                w.kill()
            else:
                w.conn.close()
        self._workers, self._retiring = [], []

    def run(self, tasks: Iterable[Task]) -> Iterator[tuple[Task, FileResult]]:
        """Yield ``(task, result)`` as files finish, in completion order."""
        it = iter(tasks)
        pending = True
        while len(self._workers) < self.n:
            self._workers.append(self._spawn())
        idle = list(self._workers)
        busy: list[_Worker] = []
        timeout = self.limits.timeout_s
        while True:
            while pending and idle:
                task = next(it, None)
                if task is None:
                    pending = False
                    break
                w = idle.pop()
                w.task, w.started = task, time.monotonic()
                try:
                    w.conn.send(task)
                except (BrokenPipeError, OSError):
                    nw = self._replace(w)
                    nw.task, nw.started = task, time.monotonic()
                    nw.conn.send(task)
                    w = nw
                busy.append(w)
            if not busy:
                return
            now = time.monotonic()
            wait_for = max(0.01, min(w.started + timeout for w in busy) - now) if timeout > 0 else None
            ready = multiprocessing.connection.wait([w.conn for w in busy], timeout=wait_for)
            for w in list(busy):
                if w.conn in ready:
                    task = w.task
                    try:
                        result = w.conn.recv()
                    except (EOFError, OSError):
                        code = w.proc.exitcode
                        w.proc.join(1)
                        code = w.proc.exitcode if code is None else code
                        why = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
                        result = FileResult("error", error=("crash", f"extraction process died ({why})"))
                        busy.remove(w)
                        nw = self._replace(w)
                        idle.append(nw)
                        yield task, result  # type: ignore[misc]
                        continue
                    busy.remove(w)
                    w.task = None
                    idle.append(self._replace(w, graceful=True) if getattr(result, "recycle", False) else w)
                    yield task, result  # type: ignore[misc]
                elif timeout > 0 and time.monotonic() - w.started > timeout:
                    task = w.task
                    busy.remove(w)
                    nw = self._replace(w)
                    idle.append(nw)
                    yield task, FileResult(  # type: ignore[misc]
                        "error", error=("timeout", f"extraction took longer than {timeout:g} s (limits.timeout_s)")
                    )

    def _reap(self) -> None:
        """Forget retired processes that have exited."""
        alive = []
        for r in self._retiring:
            if r.proc.is_alive():
                alive.append(r)
            else:
                r.conn.close()
        self._retiring = alive

    def _replace(self, w: _Worker, graceful: bool = False) -> _Worker:
        """A new process in ``w``'s place. ``graceful``: ``w`` is healthy and idle, so it exits on its own (reaped
        later); otherwise (hung, crashed, over its time) it is killed."""
        if graceful:
            w.retire()
            self._reap()
            self._retiring.append(w)
        else:
            w.kill()
        nw = self._spawn()
        self._workers[self._workers.index(w)] = nw
        return nw
