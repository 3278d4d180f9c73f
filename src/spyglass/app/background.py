"""The background embedder: after ``spyglass index`` commits the keyword index and returns, one detached process per
data directory embeds the queue (best first) and exits when it is empty.

It holds the writer lock with the role ``embed`` and gives way to any other writer (an index run, the server's jobs):
that writer leaves ``write.wanted``, the embedder saves at its next batch, releases the lock and waits for it again,
reconciling the vector file with the catalog when it resumes. A ``kill -9`` loses at most the batches since the last
save; the next start (``spyglass index``, ``spyglass serve``) resumes from the queue. Its progress — coverage, passages
per second, ETA — is written to ``embedding.json`` in the data directory, which ``spyglass status`` reads.

    python -m spyglass.app.background HOME
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from spyglass.core.errors import IndexLockedError

STATUS = "embedding.json"
LOG = "embedding.log"


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _not_zombie(pid)


def _not_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def progress(home: Path) -> dict[str, Any]:
    """What the background embedder last reported, with ``running`` (its process is alive)."""
    try:
        state = json.loads((home / STATUS).read_text())
    except (OSError, ValueError):
        return {}
    state["running"] = state.get("state") == "running" and alive(state.get("pid"))
    return state


def start(home: Path) -> int | None:
    """Start the background embedder for ``home`` unless one runs; returns its pid (None when none was needed)."""
    state = progress(home)
    if state.get("running"):
        return int(state["pid"])
    log = open(home / LOG, "ab")
    try:
        proc = subprocess.Popen([sys.executable, "-m", "spyglass.app.background", str(home)], stdin=subprocess.DEVNULL,
                                stdout=log, stderr=log, start_new_session=True, close_fds=True, cwd="/")
    finally:
        log.close()
    _write(home, {"state": "running", "pid": proc.pid, "started": time.time()})
    return proc.pid


def _write(home: Path, state: dict[str, Any]) -> None:
    from spyglass.index.manifest import atomic_write

    state = {**state, "updated": time.time()}
    atomic_write(home / STATUS, json.dumps(state).encode())


def run(home: Path) -> dict[str, Any]:
    """Embed the queue of ``home`` until it is empty, giving way to other writers. Returns the last pass's stats."""
    from spyglass.app.components import Components
    from spyglass.core.config import load_config
    from spyglass.index.lock import is_wanted

    config = load_config(home / "config.toml")
    parts = Components(home, config)
    started, done = time.time(), 0
    marks: list[tuple[int, int] | None] = [None]

    def checkpoint(info: dict[str, Any]) -> None:
        rate = info["passages_per_s"]
        eta = round(info["pending_passages"] / rate) if rate else None
        _write(home, {"state": "running", "pid": os.getpid(), "started": started, **info,
                      "embedded_total": done + info["embedded_now"], "eta_s": eta})

    while True:
        data = _writer(home)
        if data is None:  # another writer keeps the lock (watch embeds by itself): nothing for us to do
            _write(home, {"state": "stopped", "pid": os.getpid(), "reason": "another writer holds the index"})
            return {}
        try:
            from spyglass.app.vectors import sync_all

            semantic, _ = sync_all(parts, data, should_stop=lambda: is_wanted(home), on_checkpoint=checkpoint,
                                   promote=lambda: _promotions(data, marks))
        finally:
            data.close()
        done += int(semantic.get("passages", 0))
        if semantic.get("finished", True) or "unavailable" in semantic:
            _write(home, {"state": "done", "pid": os.getpid(), "started": started, "finished": time.time(),
                          "embedded_total": done, **{k: v for k, v in semantic.items() if k != "finished"}})
            return semantic
        _wait_for_lock(home)


def _writer(home: Path, patience_s: float = 600.0) -> Any:
    """The data directory opened for writing as the embedder, waiting while another writer works (None when it
    keeps the lock past ``patience_s``: a ``watch`` process, which embeds by itself)."""
    from spyglass.index.store import DataDir

    end = time.monotonic() + patience_s
    while True:
        try:
            return DataDir(home, write=True, role="embed")
        except IndexLockedError:
            if time.monotonic() > end:
                return None
            time.sleep(1.0)


def _wait_for_lock(home: Path) -> None:
    from spyglass.index.lock import is_wanted

    while is_wanted(home):
        time.sleep(0.2)
    time.sleep(0.5)  # let the waiting writer take the lock first


def _promotions(data: Any, marks: list[tuple[int, int] | None]) -> list[str]:
    """Documents shown in results or opened since the last look: their passages move up the queue."""
    from spyglass.index.activity import ActivityLog

    log = ActivityLog(data.catalog)
    if marks[0] is None:
        marks[0] = log.marks()
        return []
    items, marks[0] = log.items_after(marks[0])
    return items


if __name__ == "__main__":  # pragma: no cover (run as a detached process; tested through `spyglass index`)
    run(Path(sys.argv[1]))
