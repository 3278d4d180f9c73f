"""Local folders: walk a tree and yield one entry per file, with its stat and POSIX access principals.

Hidden files and version-control folders are skipped by default; ``.spyglassignore`` files apply gitignore rules;
symbolic links are followed with loop protection; names that are not valid UTF-8 are kept byte for byte.
A folder holding a Slack export (``channels.json`` + ``users.json``) is one entry, read as a chat export.
"""

from __future__ import annotations

import os
import stat as statmod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from spyglass.core import acl
from spyglass.core.config import IndexSettings
from spyglass.sources.ignore import IGNORE_FILE, IgnoreRules

VCS_DIRS = frozenset({".git", ".hg", ".svn", ".bzr", "_darcs", "CVS", ".jj", ".pijul"})


@dataclass(slots=True)
class FileEntry:
    path: str  # absolute; may hold surrogate escapes for non-UTF-8 bytes (os.fsdecode)
    size: int = 0
    mtime_ns: int = 0
    owner: str | None = None
    principals: tuple[str, ...] = ()
    is_dir_container: bool = False
    error: tuple[str, str] | None = None

    @property
    def raw(self) -> bytes:
        return os.fsencode(self.path)

    @property
    def name(self) -> str:
        return os.path.basename(self.path)


def entry_from_stat(path: str, st: os.stat_result) -> FileEntry:
    return FileEntry(
        path=path,
        size=st.st_size,
        mtime_ns=st.st_mtime_ns,
        owner=acl.posix_owner(st),
        principals=acl.posix_principals(st),
    )


def stat_entry(path: str) -> FileEntry:
    """The entry for one path (used by ``watch`` for single changes). Broken links and unreadable files come
    back as entries with an error."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            return FileEntry(path=path, error=("broken-link", f"broken symbolic link to {os.readlink(path)!r}"))
        raise
    except PermissionError:
        return FileEntry(path=path, error=("permission", "permission denied"))
    e = entry_from_stat(path, st)
    if not os.access(path, os.R_OK):
        e.error = ("permission", "permission denied (not readable by the indexing user)")
    return e


def _container_entry(path: str, st: os.stat_result) -> FileEntry:
    size, mtime = 0, st.st_mtime_ns
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            try:
                s = os.stat(os.path.join(dirpath, f))
            except OSError:
                continue
            size += s.st_size
            mtime = max(mtime, s.st_mtime_ns)
    e = entry_from_stat(path, st)
    e.size, e.mtime_ns, e.is_dir_container = size, mtime, True
    return e


def is_slack_export_dir(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "channels.json")) and os.path.isfile(os.path.join(path, "users.json"))


def walk(root: str, settings: IndexSettings, exclude: tuple[str, ...] = ()) -> Iterator[FileEntry]:
    """Yield the files under ``root`` (or ``root`` itself when it is a file)."""
    root = os.path.abspath(root)
    if os.path.isfile(root):
        yield stat_entry(root)
        return
    if is_slack_export_dir(root):
        yield _container_entry(root, os.stat(root))
        return
    visited: set[tuple[int, int]] = set()
    skip = set(settings.skip_dirs)
    excluded = {os.path.abspath(x) for x in exclude}
    yield from _walk_dir(root, "", IgnoreRules(), settings, visited, skip, excluded)


def _walk_dir(
    directory: str,
    rel: str,
    rules: IgnoreRules,
    settings: IndexSettings,
    visited: set[tuple[int, int]],
    skip: set[str],
    excluded: set[str],
) -> Iterator[FileEntry]:
    try:
        st = os.stat(directory)
    except OSError:
        return
    key = (st.st_dev, st.st_ino)
    if key in visited:  # a symlink loop or a second link to a folder already walked
        return
    visited.add(key)
    rules = rules.enter(Path(directory), rel)
    try:
        with os.scandir(directory) as it:
            entries = sorted(it, key=lambda e: e.name)
    except PermissionError:
        yield FileEntry(path=directory, error=("permission", "permission denied (folder not listable)"))
        return
    except OSError as exc:
        yield FileEntry(path=directory, error=("io", f"cannot list folder: {exc.strerror}"))
        return
    for e in entries:
        name = e.name
        if name in VCS_DIRS or name == IGNORE_FILE:
            continue
        if name.startswith(".") and not settings.include_hidden:
            continue
        path = e.path
        if path in excluded:
            continue
        child_rel = f"{rel}/{name}" if rel else name
        try:
            is_link = e.is_symlink()
            if is_link and not settings.follow_symlinks:
                continue
            is_dir = e.is_dir(follow_symlinks=True)
        except OSError:
            is_dir = False
            is_link = True
        if rules.ignored(child_rel, is_dir):
            continue
        if is_dir:
            if name in skip:
                continue
            if is_slack_export_dir(path):
                try:
                    yield _container_entry(path, os.stat(path))
                except OSError:
                    pass
                continue
            yield from _walk_dir(path, child_rel, rules, settings, visited, skip, excluded)
            continue
        try:
            st = e.stat(follow_symlinks=True)
        except FileNotFoundError:
            if is_link:
                try:
                    target = os.readlink(path)
                except OSError:
                    target = "?"
                yield FileEntry(path=path, error=("broken-link", f"broken symbolic link to {target!r}"))
            continue
        except PermissionError:
            yield FileEntry(path=path, error=("permission", "permission denied"))
            continue
        except OSError as exc:
            yield FileEntry(path=path, error=("io", f"cannot stat: {exc.strerror}"))
            continue
        if not statmod.S_ISREG(st.st_mode):
            continue  # sockets, fifos, devices
        entry = entry_from_stat(path, st)
        if not os.access(path, os.R_OK):
            entry.error = ("permission", "permission denied (not readable by the indexing user)")
        yield entry


def is_excluded(root: str, path: str, settings: IndexSettings) -> bool:
    """Whether ``walk(root)`` would skip ``path`` (hidden, version control, skipped folders, ignore files)."""
    root = os.path.abspath(root)
    path = os.path.abspath(path)
    if path == root:
        return False
    if not path.startswith(root.rstrip("/") + "/"):
        return True
    rel = path[len(root.rstrip("/")) + 1 :]
    parts = rel.split("/")
    rules = IgnoreRules().enter(Path(root), "")
    for i, name in enumerate(parts):
        if name in VCS_DIRS or name == IGNORE_FILE:
            return True
        if name.startswith(".") and not settings.include_hidden:
            return True
        is_last = i == len(parts) - 1
        if not is_last and name in settings.skip_dirs:
            return True
        sub = "/".join(parts[: i + 1])
        is_dir = not is_last or os.path.isdir(path)
        if rules.ignored(sub, is_dir):
            return True
        if not is_last:
            rules = rules.enter(Path(root) / sub, sub)
    return False
