"""Local folders: walk a tree and yield one entry per file, with its stat, identity and POSIX access principals.

Hidden files and version-control folders are skipped by default; ``.spyglassignore`` files apply gitignore rules;
names that are not valid UTF-8 are kept byte for byte. A folder holding a Slack export (``channels.json`` +
``users.json``) is one entry, read as a chat export.

Symbolic links are followed with loop protection, but only while they stay inside the source's root: a link whose
target (fully resolved) lies outside is recorded as an ``outside-root`` entry and not read, unless the source was
added with ``--follow-links-outside``. Real folders are walked before linked ones, so content reached both ways is
indexed under its real path. Each entry carries the device and inode of what it names (``st_dev``, ``st_ino``), so
the catalog can tell later whether a path still names the file that was indexed.

Who may read a file is decided by its whole path, as on Unix: search (execute) permission on every folder from ``/``
down — the root's own ancestors included — and read permission on the file (:func:`spyglass.core.acl.path_principals`).
For a followed link both paths count: the link's folders and the target's.
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
    st_dev: int = 0  # identity of the file read (the link's target for a followed link); 0 when not read
    st_ino: int = 0

    @property
    def raw(self) -> bytes:
        return os.fsencode(self.path)

    @property
    def name(self) -> str:
        return os.path.basename(self.path)


def entry_from_stat(path: str, st: os.stat_result, principals: tuple[str, ...] | None = None) -> FileEntry:
    return FileEntry(
        path=path,
        size=st.st_size,
        mtime_ns=st.st_mtime_ns,
        owner=acl.posix_owner(st),
        principals=acl.posix_principals(st) if principals is None else principals,
        st_dev=st.st_dev,
        st_ino=st.st_ino,
    )


Steps = frozenset  # of acl.Perm: the folders a path passes through (see spyglass.core.acl)


def _has_extended_acl(path: str) -> bool:
    """Whether ``path`` carries a POSIX access ACL beyond its mode bits (named users or groups, ``setfacl``)."""
    try:
        os.getxattr(path, "system.posix_acl_access")
    except OSError:  # none (ENODATA), or a file system without ACLs
        return False
    return True


def step(path: str, st: os.stat_result, need: str) -> acl.Perm:
    """The step ``path`` puts on the way to a file (:func:`spyglass.core.acl.perm`). An extended ACL can refuse a
    named user or group what the mode bits grant, and Spyglass does not evaluate ACLs: such a step lets the owner
    alone pass (default-deny)."""
    p = acl.perm(st, need)
    if p[2] & ~acl.OWNER and _has_extended_acl(path):
        return (p[0], p[1], p[2] & acl.OWNER)
    return p


def folder_steps(directory: str, cache: dict[str, Steps] | None = None) -> Steps:
    """The search steps of ``directory`` and every folder above it (resolved: the real folders a path passes)."""
    real = os.path.realpath(directory)
    if cache is not None and real in cache:
        return cache[real]
    parent = os.path.dirname(real)
    try:
        own = step(real, os.stat(real), "x")
    except OSError:
        own = (-1, -1, 0)  # cannot stat a folder on the way: nobody is known to pass
    steps = frozenset({own}) if parent == real else folder_steps(parent, cache) | {own}
    if cache is not None:
        cache[real] = steps
    return steps


def _readers(path: str, st: os.stat_result, steps: Steps) -> tuple[str, ...]:
    return acl.path_principals(steps | {step(path, st, "r")})


_SPECIAL = ((statmod.S_ISFIFO, "a named pipe (FIFO)"), (statmod.S_ISSOCK, "a socket"),
            (statmod.S_ISCHR, "a character device"), (statmod.S_ISBLK, "a block device"), (statmod.S_ISDIR, "a folder"))


def special_entry(path: str, st: os.stat_result) -> FileEntry:
    """The record for a path that is no regular file (reading a FIFO or a device would block or never end)."""
    what = next((w for test, w in _SPECIAL if test(st.st_mode)), "not a regular file")
    link = f" (a link to {os.path.realpath(path)!r})" if os.path.islink(path) else ""
    return FileEntry(path=path, error=("special-file", f"{what}{link}: not read (only regular files are indexed)"))


def _inside(real: str, real_root: str) -> bool:
    return real == real_root or real.startswith(real_root.rstrip("/") + "/")


def outside_root_error(path: str, root: str) -> tuple[str, str] | None:
    """The record for a symbolic link at ``path`` whose target leaves ``root``, or None when it stays inside."""
    target = os.path.realpath(path)
    if _inside(target, os.path.realpath(root)):
        return None
    why = (f"symbolic link to {target!r} leaves the source root {root}: not followed "
           f"(to follow such links: `spyglass index {root} --follow-links-outside`)")
    return ("outside-root", why)


def _broken_link(path: str) -> FileEntry:
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    return FileEntry(path=path, error=("broken-link", f"broken symbolic link to {target!r}"))


def stat_entry(path: str, root: str | None = None, follow_outside: bool = True) -> FileEntry:
    """The entry for one path (used by ``watch`` for single changes). Broken links, links leaving ``root`` (unless
    ``follow_outside``) and unreadable files come back as entries with an error."""
    if root is not None and not follow_outside and os.path.exists(path):
        err = outside_root_error(path, root)  # the path itself or a folder on the way is a link that leaves
        if err is not None:
            return FileEntry(path=path, error=err)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            return _broken_link(path)
        raise
    except PermissionError:
        return FileEntry(path=path, error=("permission", "permission denied"))
    if not statmod.S_ISREG(st.st_mode) and not statmod.S_ISDIR(st.st_mode):
        return special_entry(path, st)
    acl.refresh(older_than=5.0)  # watch calls this for every changed path
    steps = folder_steps(os.path.dirname(os.path.abspath(path)))
    if os.path.islink(path):
        steps = steps | folder_steps(os.path.dirname(os.path.realpath(path)))
    e = entry_from_stat(path, st, _readers(path, st, steps))
    if not os.access(path, os.R_OK):
        e.error = ("permission", "permission denied (not readable by the indexing user)")
    return e


def _container_entry(path: str, st: os.stat_result, steps: Steps | None = None) -> FileEntry:
    """A folder read as one document (a Slack export): readable by those who may list and enter it."""
    if steps is None:
        steps = folder_steps(os.path.dirname(os.path.abspath(path)))
    size, mtime = 0, st.st_mtime_ns
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            try:
                s = os.stat(os.path.join(dirpath, f))
            except OSError:
                continue
            size += s.st_size
            mtime = max(mtime, s.st_mtime_ns)
    e = entry_from_stat(path, st, acl.path_principals(steps | {step(path, st, "x"), step(path, st, "r")}))
    e.size, e.mtime_ns, e.is_dir_container = size, mtime, True
    return e


def is_slack_export_dir(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "channels.json")) and os.path.isfile(os.path.join(path, "users.json"))


def walk(root: str, settings: IndexSettings, exclude: tuple[str, ...] = (), follow_outside: bool | None = None,
         source_root: str | None = None) -> Iterator[FileEntry]:
    """Yield the files under ``root`` (or ``root`` itself when it is a file).

    ``source_root``: the source's root when ``root`` is a folder inside it (``watch``): links are judged and ignore
    files apply from there. ``follow_outside``: follow links that leave the source root (default
    ``settings.follow_links_outside``)."""
    root = os.path.abspath(root)
    base = os.path.abspath(source_root) if source_root else root
    follow = settings.follow_links_outside if follow_outside is None else follow_outside
    acl.refresh()  # accounts may have changed since the last walk
    if os.path.isfile(root):
        yield stat_entry(root, base, follow)
        return
    if is_slack_export_dir(root):
        yield _container_entry(root, os.stat(root))
        return
    yield from _Walker(base, settings, exclude, follow).run(root)


class _Walker:
    """One walk: the folders seen (loop protection), the folders excluded, the links left for after the real tree."""

    def __init__(self, base: str, settings: IndexSettings, exclude: tuple[str, ...], follow_outside: bool) -> None:
        self.base = base
        self.real_base = os.path.realpath(base)
        self.settings = settings
        self.follow_outside = follow_outside
        self.skip = set(settings.skip_dirs)
        self.excluded = {os.path.abspath(x) for x in exclude}
        self.excluded_ids: set[tuple[int, int]] = set()
        for x in exclude:
            try:
                st = os.stat(x)
            except OSError:
                continue
            self.excluded_ids.add((st.st_dev, st.st_ino))
        self.visited: set[tuple[int, int]] = set()
        # symlinked folders, walked after the real tree: (path, rel, ignore rules, steps of the folder holding the link)
        self.linked: list[tuple[str, str, IgnoreRules, Steps]] = []
        self.steps_cache: dict[str, Steps] = {}

    def run(self, root: str) -> Iterator[FileEntry]:
        rel = os.path.relpath(root, self.base) if root != self.base else ""
        steps = folder_steps(root, self.steps_cache)
        yield from self._dir(root, "" if rel.startswith("..") else rel, self._rules_to(rel), steps)
        while self.linked:
            path, rel, rules, via = self.linked.pop(0)
            steps = via | folder_steps(path, self.steps_cache)  # the link's way and the target's both count
            yield from self._dir(path, rel, rules, steps, linked=True)

    def _rules_to(self, rel: str) -> IgnoreRules:
        """The ignore rules in effect in the folder ``rel`` (relative to the source root): those of its ancestors."""
        rules = IgnoreRules()
        if not rel or rel.startswith(".."):
            return rules
        parts = rel.split("/")
        rules = rules.enter(Path(self.base), "")
        for i in range(len(parts) - 1):
            sub = "/".join(parts[: i + 1])
            rules = rules.enter(Path(self.base) / sub, sub)
        return rules

    def _dir(self, directory: str, rel: str, rules: IgnoreRules, steps: Steps,
             linked: bool = False) -> Iterator[FileEntry]:
        """``steps``: the search steps down to and including ``directory``."""
        try:
            st = os.stat(directory)
        except OSError:
            return
        key = (st.st_dev, st.st_ino)
        if key in self.visited or key in self.excluded_ids:  # a loop, a second link to a folder, the data directory
            return
        self.visited.add(key)
        if linked and is_slack_export_dir(directory):
            yield _container_entry(directory, st, steps)
            return
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
            yield from self._entry(e, rel, rules, steps)

    def _entry(self, e: os.DirEntry, rel: str, rules: IgnoreRules, steps: Steps) -> Iterator[FileEntry]:
        name, path = e.name, e.path
        settings = self.settings
        if name in VCS_DIRS or name == IGNORE_FILE:
            return
        if name.startswith(".") and not settings.include_hidden:
            return
        if path in self.excluded:
            return
        child_rel = f"{rel}/{name}" if rel else name
        try:
            is_link = e.is_symlink()
            if is_link and not settings.follow_symlinks:
                return
            is_dir = e.is_dir(follow_symlinks=True)
        except OSError:
            is_dir = False
            is_link = True
        if rules.ignored(child_rel, is_dir):
            return
        if is_link:
            if not os.path.exists(path):
                yield _broken_link(path)
                return
            if not self.follow_outside:
                err = outside_root_error(path, self.base)
                if err is not None:
                    yield FileEntry(path=path, error=err)
                    return
        if is_dir:
            if name in self.skip:
                return
            if is_link:
                self.linked.append((path, child_rel, rules, steps))
                return
            try:
                dst = os.stat(path)
            except OSError:
                return
            if is_slack_export_dir(path):
                yield _container_entry(path, dst, steps)
                return
            yield from self._dir(path, child_rel, rules, steps | {step(path, dst, "x")})
            return
        if is_link:  # a linked file: its target's folders count too
            steps = steps | folder_steps(os.path.dirname(os.path.realpath(path)), self.steps_cache)
        yield from self._file(e, path, is_link, steps)

    def _file(self, e: os.DirEntry, path: str, is_link: bool, steps: Steps) -> Iterator[FileEntry]:
        try:
            st = e.stat(follow_symlinks=True)
        except FileNotFoundError:
            if is_link:
                yield _broken_link(path)
            return
        except PermissionError:
            yield FileEntry(path=path, error=("permission", "permission denied"))
            return
        except OSError as exc:
            yield FileEntry(path=path, error=("io", f"cannot stat: {exc.strerror}"))
            return
        if not statmod.S_ISREG(st.st_mode):
            yield special_entry(path, st)
            return
        entry = entry_from_stat(path, st, _readers(path, st, steps))
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
