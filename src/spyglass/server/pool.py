"""A small pool of read handles (each a :class:`Spyglass` with its own SQLite connection and tantivy reader), so
concurrent requests do not share a connection. Models (embedder, rerankers) are loaded once and shared: their
``run`` is thread-safe."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from pathlib import Path

from spyglass.app.spyglass import Spyglass
from spyglass.core import deadline
from spyglass.core.config import Config
from spyglass.core.errors import BusyError


class ReaderPool:
    def __init__(self, home: Path, config: Config | None, size: int = 4) -> None:
        self.home = home
        self.config = config
        self.primary = Spyglass(home, config=config)
        self._free: queue.LifoQueue[tuple[int, Spyglass]] = queue.LifoQueue()
        self._generation = 0
        self._lock = threading.Lock()
        for _ in range(size):
            self._free.put((0, Spyglass(home, config=self.primary.config)))

    def invalidate(self) -> None:
        """The index changed (re-index, source removed): handles reopen on their next use."""
        with self._lock:
            self._generation += 1

    @contextlib.contextmanager
    def reader(self) -> Iterator[Spyglass]:
        d = deadline.current()
        try:
            gen, sg = self._free.get(timeout=max(0.0, d.remaining()) if d is not None else None)
        except queue.Empty:
            raise BusyError("every read handle is busy: try again shortly", 1.0) from None
        try:
            if gen != self._generation:
                sg.close()
                gen = self._generation
            self._share_models(sg)
            yield sg
        finally:
            self._free.put((gen, sg))

    def _share_models(self, sg: Spyglass) -> None:
        with self._lock:
            if sg.config.embedding.enabled:
                try:
                    sg.parts.share_embedder(self.primary.embedder())
                except Exception:  # a missing extra: that handle reports it when it is needed
                    pass

    def close(self) -> None:
        while not self._free.empty():
            self._free.get()[1].close()
        self.primary.close_all()
