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
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spyglass.core.config import LimitSettings, MediaSettings
from spyglass.core.errors import ExtractionError
from spyglass.core.ids import content_hasher
from spyglass.core.types import Chunk, Extracted
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


def _flatten(ex: Extracted, rec: DocRecord, max_words: int, out: list[DocRecord]) -> None:
    rec.title = ex.title
    rec.author = ex.author
    rec.created = ex.created
    rec.meta = ex.meta
    if ex.acl is not None:
        rec.acl = ex.acl
    rec.chunks = chunk_segments(ex.segments, max_words)
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
            _flatten(child.extracted, crec, max_words, out)
        else:
            out.append(crec)


def _hash_dir(path: Path) -> tuple[str, int]:
    h = content_hasher()
    total = 0
    for p in sorted(path.rglob("*")):
        if p.is_file():
            data = p.read_bytes()
            total += len(data)
            h.update(str(p.relative_to(path)).encode("utf-8", "surrogateescape") + b"\0")
            h.update(data)
    return h.hexdigest(), total


def process(task: Task, limits: LimitSettings, max_words: int, media: MediaSettings | None = None) -> FileResult:
    """Read, hash and extract one file. Never raises for bad input: errors come back in the result."""
    from spyglass.extraction.registry import extract_blob

    t0 = time.perf_counter()
    path = Path(task.path)
    ctx = Context(limits=limits, media=media or MediaSettings())
    digest: str | None = None
    try:
        if task.is_dir:
            digest, size = _hash_dir(path)
            data = None
        else:
            with open(path, "rb") as fh:
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
        _flatten(extracted, top, max_words, docs)
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
