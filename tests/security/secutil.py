"""Helpers for the ingestion attack tests (a unique module name: ``conftest`` is taken by two folders)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def keyword_config(workers: int = 2):
    """No embeddings (these tests are about what gets indexed and who may read it, not about ranking)."""
    from spyglass.core.config import Config

    cfg = Config()
    cfg.embedding.enabled = False
    cfg.index.workers = workers
    return cfg


def open_sg(home: Path, cfg=None):
    from spyglass.app.spyglass import Spyglass

    return Spyglass(home, config=cfg or keyword_config())


def rows(sg, where: str = "1", params: tuple = ()) -> list[dict]:
    """Live catalog rows (any status but deleted), with their principals."""
    db = sg.reader().catalog.db
    cur = db.execute(f"SELECT id, parent_id, path, name, type, status, error_kind, error, meta FROM items "
                     f"WHERE status != 'deleted' AND ({where})", params)
    cols = [d[0] for d in cur.description]
    out = []
    for r in cur.fetchall():
        d = dict(zip(cols, r))
        d["principals"] = sg.reader().catalog.item_principals(d["id"])
        out.append(d)
    return out


def top_row(sg, path: Path | str) -> dict:
    found = rows(sg, "parent_id IS NULL AND path = ?", (str(path),))
    assert len(found) == 1, (path, found)
    return found[0]


def texts(sg) -> str:
    """Every passage in the catalog, joined: what the index holds, whoever may read it."""
    db = sg.reader().catalog.db
    return "\n".join(r[0] for r in db.execute("SELECT text FROM chunks"))


def cli(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    e = {**os.environ, "PYTHONPATH": str(SRC), **(env or {})}
    return subprocess.run([sys.executable, "-m", "spyglass", *args], capture_output=True, text=True, env=e,
                          timeout=timeout)


def keyword_home(home: Path) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text("[embedding]\nenabled = false\n")
    return home


SHARED = Path(os.environ.get("SPYGLASS_SHARED", Path(__file__).resolve().parents[3] / "shared"))
DATA = SHARED / "data"
