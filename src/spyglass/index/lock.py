"""One writer per data directory, enforced with an advisory lock (released by the OS if the process dies)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from spyglass.core.errors import IndexLockedError


class WriteLock:
    def __init__(self, home: Path) -> None:
        self.path = home / "write.lock"
        self.fd: int | None = None

    def acquire(self, wait: bool = False) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except PermissionError:
            from spyglass.core.errors import SpyglassError

            raise SpyglassError(f"cannot write to the data directory {self.path.parent}: permission denied") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                holder = os.read(fd, 64).decode(errors="replace").strip()
            finally:
                os.close(fd)
            raise IndexLockedError(
                f"another Spyglass process (pid {holder or '?'}) is writing to {self.path.parent}; "
                "wait for it or stop it (`spyglass watch` holds the lock while it runs)"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self.fd = fd

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
