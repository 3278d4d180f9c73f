"""``spyglass watch``: keep the index live. File-system events (inotify through watchdog, or polling) are collected,
debounced, and applied as small incremental updates; a full catch-up scan runs first, so changes made while nothing
was watching are picked up too."""

from __future__ import annotations

import os
import threading
import time
from typing import Any, Callable

from spyglass.core.config import Config
from spyglass.core.errors import SpyglassError
from spyglass.index.connector_sync import is_connector, sync_due
from spyglass.index.pipeline import Indexer, RunStats
from spyglass.index.store import DataDir
from spyglass.sources.folder import is_excluded


def watch(
    data: DataDir,
    config: Config,
    sync_vectors: Callable[[DataDir], Any],
    paths: list[str],
    on_change: Callable[[RunStats], Any] | None = None,
    stop: threading.Event | None = None,
    polling: bool = False,
    debounce: float = 0.5,
    ready: threading.Event | None = None,
) -> None:
    """Watch ``paths`` (else every source) with the writer ``data`` (held until ``stop`` is set), applying changes to
    the keyword index at once; while no change waits, ``sync_vectors(data, deadline=...)`` makes vectors in slices of
    about a second (best first), so a new change is never stuck behind a long embedding run."""
    from watchdog.events import FileSystemEvent, FileSystemEventHandler
    from watchdog.observers import Observer
    from watchdog.observers.polling import PollingObserver

    stop = stop or threading.Event()
    indexer = Indexer(data, config)
    try:
        sources = [indexer.add_source(p) for p in paths] if paths else data.catalog.sources()
        sources = [s for s in sources if "(removed" not in s.root]
        if not sources:
            raise SpyglassError("nothing to watch: give a folder, e.g. `spyglass watch ~/Documents`")
        connectors = [s for s in sources if is_connector(s)]  # synced below, each at its own interval
        sources = [s for s in sources if not is_connector(s)]
        indexer.sync_lexical()
        for src in sources:
            stats = indexer.index_source(src)
            if on_change:
                on_change(stats)
        vectors_done = [False]

        def embed_slice() -> None:
            res = sync_vectors(data, deadline=time.monotonic() + 1.0)
            vectors_done[0] = bool(res[0].get("finished", True)) if isinstance(res, tuple) else True

        lock = threading.Lock()
        pending: dict[int, set[str]] = {}
        first_event = [0.0]
        last_event = [0.0]
        home = str(data.home)

        def owner(path: str):
            for s in sources:
                if path == s.root or path.startswith(s.root.rstrip("/") + "/"):
                    return s
            return None

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                if event.event_type in ("opened", "closed_no_write") or (
                    event.is_directory and event.event_type == "modified"
                ):
                    return  # a folder's mtime changes with every file in it; the file events carry the news
                for p in (event.src_path, getattr(event, "dest_path", "")):
                    if not p:
                        continue
                    p = os.fsdecode(p)
                    if p == home or p.startswith(home + "/"):
                        continue
                    src = owner(p)
                    if src is None or is_excluded(src.root, p, config.index):
                        continue
                    with lock:
                        now = time.monotonic()
                        if not pending:
                            first_event[0] = now
                        last_event[0] = now
                        pending.setdefault(src.id, set()).add(p)

        observer = PollingObserver(timeout=1) if polling else Observer()
        handler = Handler()
        for s in sources:
            target = s.root if os.path.isdir(s.root) else os.path.dirname(s.root)
            observer.schedule(handler, target, recursive=os.path.isdir(s.root))
        observer.start()
        if ready is not None:
            ready.set()
        try:
            while not stop.is_set():
                stop.wait(0.1)
                synced = sync_due(data, config, indexer, connectors)
                for stats in synced:
                    if on_change:
                        on_change(stats)
                if synced:
                    vectors_done[0] = False
                with lock:
                    idle = not pending
                if idle:
                    if not vectors_done[0]:
                        embed_slice()
                    continue
                with lock:
                    now = time.monotonic()
                    if now - last_event[0] < debounce and now - first_event[0] < 3 * debounce + 1:
                        continue
                    batch = {k: sorted(v) for k, v in pending.items()}
                    pending.clear()
                for sid, changed in batch.items():
                    src = next(s for s in sources if s.id == sid)
                    stats = indexer.apply_paths(src, changed)
                    if on_change:
                        on_change(stats)
                vectors_done[0] = False  # keyword search already sees the change; vectors follow when idle
        finally:
            observer.stop()
            observer.join(5)
    finally:
        indexer.close()
        data.close()
