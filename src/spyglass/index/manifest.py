"""The data directory's manifest: ``manifest.json``, replaced atomically (write, fsync, rename).

It names the format of every store in the directory. Opening a directory written by a newer Spyglass fails with a
clear message; a lexical index of an older schema is rebuilt from the catalog (no file is re-read).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from spyglass.core.version import __version__
from spyglass.core.errors import IndexFormatError

FORMAT = 1
NAME = "manifest.json"


def atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    try:
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def read(home: Path) -> dict[str, Any] | None:
    p = home / NAME
    try:
        data = json.loads(p.read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IndexFormatError(f"{p} is damaged ({exc}); move it away to rebuild the lexical index") from exc
    if not isinstance(data, dict) or data.get("format", 0) > FORMAT:
        raise IndexFormatError(
            f"{home} was written by a newer Spyglass (format {data.get('format')!r}, this is {FORMAT}): upgrade"
        )
    return data


def write(home: Path, manifest: dict[str, Any]) -> None:
    manifest = {**manifest, "format": FORMAT, "spyglass": __version__, "updated": time.time()}
    atomic_write(home / NAME, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
