"""One writer per data directory, enforced with an advisory lock (released by the OS if the process dies).

The lock file holds the holder's pid and role. The background embedder (role ``embed``) gives way: a writer that
finds it holding the lock leaves a ``write.wanted`` file and waits; the embedder saves at its next batch, releases the
lock, and resumes once the other writer is done (:mod:`spyglass.app.background`).
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from spyglass.core.errors import IndexLockedError

EMBED = "embed"  # the background embedder's role
WANTED = "write.wanted"


class WriteLock:
    def __init__(self, home: Path, role: str = "index", yield_wait_s: float = 120.0) -> None:
        self.path = home / "write.lock"
        self.role = role
        self.yield_wait_s = yield_wait_s
        self.fd: int | None = None

    def acquire(self, wait: bool = False) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except PermissionError:
            from spyglass.core.errors import SpyglassError

            raise SpyglassError(f"cannot write to the data directory {self.path.parent}: permission denied") from None
        try:
            if wait:
                fcntl.flock(fd, fcntl.LOCK_EX)
            elif not self._try(fd):
                self._wait_for_embedder(fd)
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {self.role}".encode(), 0)
        self.fd = fd

    @staticmethod
    def _try(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def _wait_for_embedder(self, fd: int) -> None:
        """The lock is held: wait (up to ``yield_wait_s``) when the holder is the background embedder, which yields
        at its next batch; else fail with a message naming the holder."""
        pid, role = holder(self.path)
        if role != EMBED or self.role == EMBED:
            raise IndexLockedError(
                f"another Spyglass process (pid {pid or '?'}, {role or 'writer'}) is writing to {self.path.parent}; "
                "wait for it or stop it (`spyglass watch` holds the lock while it runs)")
        wanted = self.path.parent / WANTED
        wanted.touch()
        try:
            end = time.monotonic() + self.yield_wait_s
            while not self._try(fd):
                if time.monotonic() > end:
                    raise IndexLockedError(f"the background embedder (pid {pid}) did not give way within "
                                           f"{self.yield_wait_s:g} s: stop it with `kill {pid}` and retry")
                time.sleep(0.05)
        finally:
            wanted.unlink(missing_ok=True)

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> WriteLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def holder(path: Path) -> tuple[int | None, str | None]:
    """(pid, role) written by the lock's current or last holder."""
    try:
        text = path.read_text().split()
    except OSError:
        return None, None
    pid = int(text[0]) if text and text[0].isdigit() else None
    return pid, (text[1] if len(text) > 1 else None)


def is_wanted(home: Path) -> bool:
    """Whether another writer is waiting for the lock (the background embedder then yields)."""
    return (home / WANTED).exists()
