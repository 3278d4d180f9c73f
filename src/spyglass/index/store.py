"""A data directory: manifest, catalog and lexical index under one folder.

```
HOME/
  manifest.json      formats of the stores (replaced atomically)
  config.toml        settings (docs/configuration.md)
  catalog.sqlite3    the catalog (SQLite, WAL)
  lexical/           tantivy index (immutable segments + meta.json, committed atomically by tantivy)
  write.lock         held by the one process that writes
```
"""

from __future__ import annotations

import time
from pathlib import Path

from spyglass.core.config import CONFIG_TEMPLATE
from spyglass.index import manifest
from spyglass.index.catalog import CATALOG_SCHEMA, Catalog
from spyglass.index.lexical import LEX_SCHEMA, LexicalIndex
from spyglass.index.lock import WriteLock


class DataDir:
    def __init__(self, home: Path, write: bool = False, role: str = "index") -> None:
        self.home = home
        self.write = write
        self.lock: WriteLock | None = None
        self.open_vectors: dict[str, object] = {}  # vector indexes a writer keeps open between passes (by model)
        if write:
            home.mkdir(parents=True, exist_ok=True)
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
                cfg.write_text(CONFIG_TEMPLATE)
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
