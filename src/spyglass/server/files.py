"""Open an indexed file to serve it: the file served is the file that was indexed, and the caller may read it now.

The path recorded at index time is only a name; what it points at can change. So the file is opened by walking the
path one folder at a time (``openat`` with ``O_NOFOLLOW`` on every component: a folder or the file swapped for a
symlink fails the walk), the open file is compared with the catalog's record of it (size and ``mtime_ns``, and
``st_dev``/``st_ino`` when the catalog has them: a hard link or a rewrite fails the check), and the open file's live
owner, group and mode must still give the caller read access. The caller then reads from the returned descriptor,
never from the path again.

Use :func:`open_indexed` for every byte of an indexed file that leaves the server (download, inline view, thumbnail).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping
from typing import Any

from spyglass.core import acl
from spyglass.core.errors import NotFoundError

REINDEX = "the file changed since it was indexed: run `spyglass index` (or POST /api/reindex) to index it again"


class FileChangedError(NotFoundError):
    """The path no longer leads to the file that was indexed (a symlink, another inode, another size or time)."""


def open_indexed(path: str | bytes, indexed: Mapping[str, Any], principals: Iterable[str]) -> tuple[int, os.stat_result]:
    """``(fd, fstat)`` of the indexed file at ``path``; the caller closes ``fd``.

    ``indexed`` is the catalog row (``size``, ``mtime_ns``, optional ``dev`` and ``ino``). Raises
    :class:`FileChangedError` when the path leads elsewhere now and :class:`NotFoundError` when the caller may not
    read the file any more (both read the same to the caller as a missing file)."""
    fd = _walk_open(os.fsencode(path))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or not _same_file(st, indexed):
            raise FileChangedError(REINDEX)
        if not set(acl.posix_principals(st)) & set(principals):
            raise NotFoundError("you may not read this file any more (its permissions changed)")
        return fd, st
    except BaseException:
        os.close(fd)
        raise


def _same_file(st: os.stat_result, indexed: Mapping[str, Any]) -> bool:
    if st.st_size != indexed.get("size") or st.st_mtime_ns != indexed.get("mtime_ns"):
        return False
    dev, ino = indexed.get("dev"), indexed.get("ino")
    return (dev is None or st.st_dev == dev) and (ino is None or st.st_ino == ino)


def _walk_open(path: bytes) -> int:
    """Open ``path`` for reading, one component at a time from ``/``, following no symlink anywhere."""
    parts = path.split(b"/")
    if not path.startswith(b"/") or any(p in (b".", b"..") for p in parts) or not parts[-1]:
        raise FileChangedError(REINDEX)
    dir_flags = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(b"/", dir_flags)
    try:
        for name in (p for p in parts[1:-1] if p):
            nxt = os.open(name, dir_flags, dir_fd=fd)
            os.close(fd)
            fd = nxt
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC  # a FIFO must not block
        return os.open(parts[-1], flags, dir_fd=fd)
    except OSError:  # ELOOP/ENOTDIR: a symlink on the way; ENOENT: gone
        raise FileChangedError(REINDEX) from None
    finally:
        os.close(fd)


def fd_response(fd: int, st: os.stat_result, **kwargs: Any) -> Any:
    """A Starlette ``FileResponse`` (ranges, HEAD, ETag) that reads the already-open, verified ``fd`` and closes it
    when the response is done; the path is never opened again."""
    from contextlib import asynccontextmanager

    import anyio
    from starlette.responses import FileResponse

    class _FdFileResponse(FileResponse):
        @asynccontextmanager
        async def _open_file(self):  # type: ignore[override]
            yield anyio.wrap_file(os.fdopen(fd, "rb", buffering=0, closefd=False))

        async def __call__(self, scope, receive, send) -> None:  # type: ignore[override]
            ext = {k: v for k, v in scope.get("extensions", {}).items() if k != "http.response.pathsend"}
            try:
                await super().__call__({**scope, "extensions": ext}, receive, send)
            finally:
                os.close(fd)

    return _FdFileResponse(f"/proc/self/fd/{fd}", stat_result=st, **kwargs)
