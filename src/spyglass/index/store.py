"""A data directory: manifest, catalog and lexical index under one folder.

```
HOME/
  manifest.json      formats of the stores (replaced atomically)
  config.toml        settings (docs/configuration.md)
  catalog.sqlite3    the catalog (SQLite, WAL)
  lexical/           tantivy index (immutable segments + meta.json, committed atomically by tantivy)
  write.lock         held by the one process that writes
```

The directory is private: it holds every indexed passage. It is created 0700 and every file in it is 0600 (the
command line also runs with umask 077, so files are created that way); a writer tightens an existing directory when
it opens and again when it closes (the keyword and vector stores add files while it works), and ``spyglass status``
reports anything wider (:func:`wide_modes`).
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

from spyglass.core.config import CONFIG_TEMPLATE
from spyglass.index import manifest
from spyglass.index.catalog import CATALOG_SCHEMA, Catalog
from spyglass.index.lexical import LEX_SCHEMA, LexicalIndex
from spyglass.index.lock import WriteLock


PRIVATE_UMASK = 0o077


def wide_modes(home: Path, limit: int = 10) -> tuple[int, list[str]]:
    """(how many, some of) the folders and files in ``home``, itself included, that group or others may use.
    Links are not followed (and their own modes do not matter)."""
    n, examples = 0, []
    for p in _tree(home):
        try:
            st = os.lstat(p)
        except OSError:
            continue
        if not stat.S_ISLNK(st.st_mode) and st.st_mode & 0o077:
            n += 1
            if len(examples) < limit:
                examples.append(f"{stat.filemode(st.st_mode)} {p}")
    return n, examples


def make_private(home: Path) -> int:
    """Folders 0700, files 0600 (group and other bits removed, nothing else changed); returns how many were fixed."""
    fixed = 0
    for p in _tree(home):
        try:
            st = os.lstat(p)
            if not stat.S_ISLNK(st.st_mode) and st.st_mode & 0o077:
                os.chmod(p, stat.S_IMODE(st.st_mode) & ~0o077 | (0o700 if stat.S_ISDIR(st.st_mode) else 0o600))
                fixed += 1
        except OSError:  # vanished meanwhile (a merged segment), or not ours
            continue
    return fixed


# The folders Spyglass keeps in a data directory (add a new store here). Only they are tightened recursively, with
# every file at the top: if someone points --home at a folder that also holds their own files, those stay as they
# are — the directory's own 0700 keeps every other user out of all of it anyway.
STORE_DIRS = ("lexical", "vectors", "vectors-image", "models", "organize", "plans", "journals", "thumbnails", "tmp",
              "connectors")


def _tree(home: Path):
    yield str(home)
    try:
        top = list(os.scandir(home))
    except OSError:
        return
    for e in top:
        if e.is_dir(follow_symlinks=False):
            if e.name not in STORE_DIRS:
                continue
            yield e.path
            for dirpath, dirs, files in os.walk(e.path):  # does not follow links
                for name in dirs + files:
                    yield os.path.join(dirpath, name)
        else:
            yield e.path


def _touch_private(path: Path) -> None:
    """Create ``path`` empty with mode 0600 if it does not exist (SQLite gives its WAL the database's mode)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


class DataDir:
    def __init__(self, home: Path, write: bool = False, role: str = "index") -> None:
        self.home = home
        self.write = write
        self.lock: WriteLock | None = None
        self.open_vectors: dict[str, object] = {}  # vector indexes a writer keeps open between passes (by model)
        if write:
            home.mkdir(parents=True, exist_ok=True, mode=0o700)
            make_private(home)  # before anything is written: an older or hand-made directory may be wide open
            self.lock = WriteLock(home, role)
            self.lock.acquire()
        try:
            self._open()
        except BaseException:
            if self.lock:
                self.lock.release()
            raise

    def _open(self) -> None:
        home = self.home
        m = manifest.read(home)
        if self.write:
            cfg = home / "config.toml"
            if not cfg.exists():
                _touch_private(cfg)
                cfg.write_text(CONFIG_TEMPLATE)
            _touch_private(home / "catalog.sqlite3")
            self.catalog = Catalog(home / "catalog.sqlite3")
            rebuild = m is not None and m.get("lexical", {}).get("schema") != LEX_SCHEMA
            if m is None and (home / "lexical").exists() and self.catalog.dirty_count() == 0:
                rebuild = True  # a lexical folder without a manifest: rebuild it rather than trust it
            if rebuild:
                LexicalIndex.destroy(home / "lexical")
                self.catalog.mark_all_dirty()
            self.lexical = LexicalIndex(home / "lexical")
            if m is None or rebuild:
                # Keep the other stores' sections: rebuilding the lexical index must not drop the embeddings.
                manifest.write(home, {
                    **(m or {}),
                    "created": (m or {}).get("created", time.time()),
                    "catalog": {"file": "catalog.sqlite3", "schema": CATALOG_SCHEMA},
                    "lexical": {"dir": "lexical", "schema": LEX_SCHEMA, "engine": "tantivy"},
                })
            self.manifest = manifest.read(home) or {}
        else:
            if m is None or not (home / "catalog.sqlite3").exists():
                from spyglass.core.errors import SpyglassError

                raise SpyglassError(f"no index at {home}: run `spyglass index FOLDER` first")
            if m.get("lexical", {}).get("schema") != LEX_SCHEMA:
                from spyglass.core.errors import IndexFormatError

                raise IndexFormatError(f"the index at {home} needs an upgrade: run `spyglass index` once")
            self.manifest = m
            self.catalog = Catalog(home / "catalog.sqlite3", init=False)
            self.lexical = LexicalIndex(home / "lexical")

    def close(self) -> None:
        if self.write:
            self.lexical.close_writer()
        self.catalog.close()
        if self.write:
            make_private(self.home)  # what the stores added while writing
        if self.lock:
            self.lock.release()
            self.lock = None

    def __enter__(self) -> DataDir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def size_bytes(self) -> dict[str, int]:
        def du(p: Path) -> int:
            if p.is_file():
                return p.stat().st_size
            return sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) if p.exists() else 0

        cat = sum(du(self.home / n) for n in ("catalog.sqlite3", "catalog.sqlite3-wal", "catalog.sqlite3-shm"))
        return {"catalog": cat, "lexical": du(self.home / "lexical"), "vectors": du(self.home / "vectors")}
