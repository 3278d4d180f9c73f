"""Extraction on a Ray cluster, with the same contract as :class:`~spyglass.extraction.worker.ExtractorPool`:
``run(tasks)`` yields ``(task, FileResult)`` in completion order, to the single writer.

Each Ray task (one CPU) takes a small batch of files and runs them through a one-process ``ExtractorPool`` on the Ray
worker — the same extraction process as local indexing, so the per-file limits hold there unchanged: a file that runs
past ``[limits] timeout_s`` has its process killed and replaced, ``memory_mb`` is that process's address-space limit,
a crash in a format library is that file's ``crash`` error. OCR and speech-to-text happen inside extraction, so they
run on the cluster too. Completed batches stream back through ``ray.wait``; at most ``2 × workers`` are in flight, so
the writer's memory stays bounded whatever the source's size.

A Ray worker that dies mid-batch (killed, out of memory, its node lost) is Ray's to handle: the task is re-run on
another worker up to ``[cluster] max_retries`` times. A batch that still fails is split into one task per file, and a
single file that still fails is recorded as that file's ``crash`` error — nothing is lost, and since each result is
written once by its task's key, nothing is written twice.

How files reach the workers (``[cluster] files``): ``send`` — the writer reads each file and sends its bytes through
Ray's object store (no shared storage needed; a file whose content hash is already in the catalog is not sent at all);
``shared`` — every node mounts the sources at the same path and the workers open them there (connector items, which
the writer fetched into its data directory, are sent all the same). Chat-export folders are read by the writer's own
extraction process in ``send`` mode (a folder is not one file to send).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from spyglass.core.cluster import connect, cpus, is_worker_failure
from spyglass.core.config import ClusterSettings, LimitSettings, MediaSettings
from spyglass.core.errors import ConfigError, SpyglassError
from spyglass.core.ids import content_hasher
from spyglass.extraction.worker import ExtractorPool, FileResult, Task

_POOLS: dict[str, ExtractorPool] = {}  # per Ray worker process: its extraction process, reused across batches


def _local_pool(settings: str) -> ExtractorPool:
    pool = _POOLS.get(settings)
    if pool is None:
        d = json.loads(settings)
        pool = _POOLS[settings] = ExtractorPool(1, LimitSettings(**d["limits"]), d["max_words"],
                                                MediaSettings(**d["media"]))
    return pool


def _suffix(name: str) -> str:
    """A file's extension, safe to use in a temporary file name (some readers look at it)."""
    ext = os.path.splitext(name)[1]
    return ext if ext and len(ext) <= 16 and ext[1:].isalnum() and ext.isascii() else ""


@contextlib.contextmanager
def _no_main_script() -> Iterator[None]:
    """Hide the Ray worker's main script while extraction processes start: multiprocessing re-imports the parent's
    ``__main__`` by path in every new child, and Ray's worker script costs ~1 s of imports — time a replacement
    process would spend inside the next file's time limit."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path is None or getattr(main, "__spec__", None) is not None:
        yield
        return
    del main.__file__  # type: ignore[union-attr]
    try:
        yield
    finally:
        main.__file__ = path  # type: ignore[union-attr]


def extract_batch(items: list[tuple[Task, bytes | None]], settings: str) -> list[FileResult]:
    """Runs on a Ray worker: extract a batch of files (sent bytes, or paths the worker can open) in this process's
    extraction pool. Results come back in the batch's order."""
    with _no_main_script():
        return _extract_batch(items, settings)


def _extract_batch(items: list[tuple[Task, bytes | None]], settings: str) -> list[FileResult]:
    pool = _local_pool(settings)
    with tempfile.TemporaryDirectory(prefix="spyglass-ray-") as tmp:
        tasks = []
        for i, (task, data) in enumerate(items):
            if data is not None:
                path = os.path.join(tmp, f"{i}{_suffix(task.name)}")
                with open(path, "wb") as fh:
                    fh.write(data)
                # the writer read these bytes from the file the walk saw (_read): no identity to check here
                task = dataclasses.replace(task, path=path, st_dev=0, st_ino=0)
            tasks.append(task)
        results = {t.key: r for t, r in pool.run(tasks)}
    return [results[t.key] for t in tasks]


class RayExtractorPool:
    """``ExtractorPool``'s contract over a Ray cluster (see the module's docstring)."""

    def __init__(self, cluster: ClusterSettings, limits: LimitSettings, max_words: int,
                 media: MediaSettings | None = None, writer_dirs: tuple[str, ...] = ()) -> None:
        if cluster.files not in ("send", "shared"):
            raise ConfigError(f"[cluster] files = {cluster.files!r}: expected \"send\" or \"shared\"")
        self.cluster = cluster
        self.limits = limits
        self.max_words = max_words
        self.media = media or MediaSettings()
        self.writer_dirs = tuple(os.path.join(os.path.abspath(d), "") for d in writer_dirs)
        self.settings = json.dumps({"limits": dataclasses.asdict(limits), "max_words": max_words,
                                    "media": dataclasses.asdict(self.media)}, sort_keys=True)
        self._local: ExtractorPool | None = None
        self._pending: dict[Any, list[Task]] = {}
        self._answered: list[tuple[Task, FileResult]] = []  # results the writer found itself (send mode)
        self.stats = {"tasks": 0, "files": 0, "bytes_sent": 0, "split": 0, "crashed": 0, "local": 0}

    # -- the contract -----------------------------------------------------------------------------------------
    def run(self, tasks: Iterable[Task]) -> Iterator[tuple[Task, FileResult]]:
        """Yield ``(task, result)`` as batches finish on the cluster, in completion order."""
        ray = connect(self.cluster.address)
        remote = ray.remote(extract_batch).options(num_cpus=1, max_retries=self.cluster.max_retries,
                                                   retry_exceptions=False, name="spyglass_extract")
        window = 2 * (self.cluster.workers or cpus(ray))
        local: list[Task] = []
        batches = self._batches(iter(tasks), local)
        try:
            while True:
                while len(self._pending) < window:
                    batch = next(batches, None)
                    if batch is None:
                        break
                    if batch:
                        self._submit(remote, batch)
                    yield from self._drain_answered()
                yield from self._drain_answered()
                if not self._pending:
                    break
                refs = list(self._pending)
                ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)  # all that are done, else the next one
                if not ready:
                    ready, _ = ray.wait(refs, num_returns=1, timeout=1.0)
                for ref in ready:
                    yield from self._collect(ray, remote, ref)
            if local:
                self.stats["local"] += len(local)
                yield from self._local_pool().run(local)
        finally:
            self._cancel(ray)

    def close(self) -> None:
        if self._local is not None:
            self._local.close()
            self._local = None

    def __enter__(self) -> RayExtractorPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals --------------------------------------------------------------------------------------------
    def _batches(self, tasks: Iterator[Task], local: list[Task]) -> Iterator[list[tuple[Task, bytes | None]]]:
        """Batches of at most ``batch_files`` files and ``batch_mb`` bytes. For a file it sends, the writer answers
        itself when it cannot read it or the catalog already has its content hash (an empty batch signals such an
        answer), and keeps folders for its own extraction process."""
        cap = int(self.cluster.batch_mb * 1024 * 1024)
        batch: list[tuple[Task, bytes | None]] = []
        size = 0
        for task in tasks:
            data: bytes | None = None
            if self._send(task):
                if task.is_dir:
                    local.append(task)
                    continue
                data, answer = self._read(task)
                if answer is None and task.known_hash is not None and _digest(data) == task.known_hash:
                    answer = FileResult("unchanged", task.known_hash, len(data))
                if answer is not None:
                    self._answered.append((task, answer))
                    yield []
                    continue
            if batch and (len(batch) >= self.cluster.batch_files or size + len(data or b"") > cap):
                yield batch
                batch, size = [], 0
            batch.append((task, data))
            size += len(data or b"")
        if batch:
            yield batch

    def _send(self, task: Task) -> bool:
        """Whether the file's bytes travel with the task: always in ``send`` mode; in ``shared`` mode for what only
        the writer has (connector items it fetched into its data directory)."""
        return self.cluster.files == "send" or os.path.abspath(task.path).startswith(self.writer_dirs)

    def _read(self, task: Task) -> tuple[bytes, FileResult | None]:
        """The file's bytes, up to one byte past ``max_file_mb`` (the worker then records ``too-large``, as locally),
        or the error result local extraction gives for a file that cannot be read."""
        from spyglass.core.errors import ExtractionError
        from spyglass.extraction.worker import _open_regular

        cap = int(self.limits.max_file_mb * 1024 * 1024)
        if os.path.isdir(task.path):
            return b"", FileResult("error", error=("unsupported", "is a directory"))
        try:
            with _open_regular(Path(task.path), task) as fh:  # a regular file, the one the walk saw, as locally
                return fh.read(cap + 1), None
        except ExtractionError as exc:
            return b"", FileResult("error", error=(exc.kind, exc.message))
        except PermissionError:
            return b"", FileResult("error", error=("permission", "permission denied"))
        except IsADirectoryError:
            return b"", FileResult("error", error=("unsupported", "is a directory"))
        except FileNotFoundError:
            return b"", FileResult("error", error=("io", "file vanished while being read"))
        except OSError as exc:
            return b"", FileResult("error", error=("io", f"read error: {exc.strerror or exc}"))

    def _drain_answered(self) -> Iterator[tuple[Task, FileResult]]:
        while self._answered:
            yield self._answered.pop()

    def _submit(self, remote: Any, batch: list[tuple[Task, bytes | None]]) -> None:
        ref = remote.remote(batch, self.settings)
        self._pending[ref] = [t for t, _ in batch]
        self.stats["tasks"] += 1
        self.stats["files"] += len(batch)
        self.stats["bytes_sent"] += sum(len(d) for _, d in batch if d is not None)

    def _collect(self, ray: Any, remote: Any, ref: Any) -> Iterator[tuple[Task, FileResult]]:
        """The results of a finished batch; a batch whose workers kept dying is split, a single file recorded."""
        tasks = self._pending.pop(ref)
        try:
            results = ray.get(ref)
        except Exception as exc:
            if not is_worker_failure(ray, exc):
                raise SpyglassError(f"extraction failed on the cluster: {exc} (every node needs the same version of "
                                    f"spyglass with the cluster extra: pip install 'spyglass[cluster]')") from exc
            if len(tasks) > 1:
                self.stats["split"] += 1
                for t in tasks:
                    self._resubmit(remote, t)
                return
            self.stats["crashed"] += 1
            why = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]
            message = f"the cluster worker extracting it failed {self.cluster.max_retries + 1} times ({why})"
            yield tasks[0], FileResult("error", error=("crash", message))
            return
        yield from zip(tasks, results)

    def _resubmit(self, remote: Any, task: Task) -> None:
        """One file of a failed batch, as a task of its own."""
        if not self._send(task):
            self._submit(remote, [(task, None)])
            return
        data, answer = self._read(task)
        if answer is not None:
            self._answered.append((task, answer))
        else:
            self._submit(remote, [(task, data)])

    def _cancel(self, ray: Any) -> None:
        """Stop what is still running when the writer stops early (an error, Ctrl-C)."""
        for ref in self._pending:
            try:
                ray.cancel(ref, force=True)
            except Exception:  # noqa: BLE001 - best effort: the job's end frees them anyway
                pass
        self._pending.clear()

    def _local_pool(self) -> ExtractorPool:
        if self._local is None:
            self._local = ExtractorPool(1, self.limits, self.max_words, self.media)
        return self._local


def _digest(data: bytes) -> str:
    h = content_hasher()
    h.update(data)
    return h.hexdigest()


__all__ = ["RayExtractorPool", "extract_batch"]
