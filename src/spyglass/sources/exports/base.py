"""A local export read as a connector: walk its folder (no symbolic link out of it, hidden names skipped), one entry
per file with ``size:mtime`` as the change token, the content read in place."""

from __future__ import annotations

import os
from collections.abc import Iterator

from spyglass.sources.connector import (
    MAX_LISTING,
    ConnectorError,
    Entry,
    Fetched,
    ItemError,
    SourceSpec,
    contained,
    safe_folder,
    safe_name,
)


class LocalExport:
    """Subclasses choose files (``wanted``) and say what each is (``describe``)."""

    kind = "export"

    def __init__(self, spec: SourceSpec) -> None:
        self.spec = spec
        self.root = os.path.realpath(spec.location)
        if not os.path.exists(self.root):
            raise ConnectorError(f"{spec.location}: no such file or folder (moved? `spyglass sources remove` it)")

    def wanted(self, rel: str, name: str) -> bool:
        return True

    def files(self) -> Iterator[tuple[str, os.stat_result]]:
        """(path relative to the root, stat) of every regular file inside the root, in a stable order."""
        if os.path.isfile(self.root):
            yield os.path.basename(self.root), os.stat(self.root)
            return
        n = 0
        for dirpath, dirs, names in os.walk(self.root, followlinks=False):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(names):
                if name.startswith("."):
                    continue
                full = os.path.join(dirpath, name)
                rel = os.path.relpath(full, self.root)
                try:
                    st = os.stat(full)  # follows a link to a file: checked to stay inside in fetch
                except OSError:
                    continue
                if not os.path.isfile(full) or not self.wanted(rel, name):
                    continue
                n += 1
                if n > MAX_LISTING:
                    raise ConnectorError(f"more than {MAX_LISTING} files in the export: refused")
                yield rel, st

    def path_of(self, rel: str) -> str:
        if os.path.isfile(self.root):
            return self.root
        return contained(self.root, rel)

    def entries(self) -> Iterator[Entry]:
        for rel, st in self.files():
            folder, _, name = rel.replace(os.sep, "/").rpartition("/")
            yield Entry(key=rel, token=f"{st.st_size}:{st.st_mtime_ns}", name=safe_name(name),
                        folder=self.display_folder(folder), size=st.st_size, modified=st.st_mtime,
                        handle=rel)

    def display_folder(self, folder: str) -> str:
        return safe_folder(folder)

    def fetch(self, entry: Entry) -> Fetched:
        path = self.path_of(entry.handle or entry.key)
        if not os.path.isfile(path):
            raise ItemError("gone", "the file vanished during the sync")
        f = self.describe(entry, path)
        f.path = f.path or path
        return f

    def describe(self, entry: Entry, path: str) -> Fetched:
        return Fetched(name=entry.name, modified=entry.modified, uri=f"file://{path}")

    def close(self) -> None:
        pass
