"""Helpers for the connector tests: the `csg` fixture (a keyword-only Spyglass), searching as a principal, free ports,
waiting for a server to listen. Each test starts the real server it talks to (or builds a real export sample).
(Not a conftest.py: a second module named conftest would shadow tests/conftest.py for `from conftest import ...`.)"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pytest

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 20.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            raise RuntimeError(f"server exited with {proc.returncode}: {out[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def found(sg, query: str, principals: list[str] | None = None, limit: int = 50) -> list[str]:
    """Titles (or names) of what a search returns, for one set of principals (None: everything)."""
    sg.close()
    res = sg.search(query, limit=limit, principals=principals, mode="keyword")
    return [h.title for h in res.hits]


def sync(sg, name: str) -> dict:
    from spyglass.app.connectors import sync as run

    st = run(sg, [name])[name].as_dict()
    sg.close()
    return st


def state(sg, name: str) -> dict:
    from spyglass.app.connectors import list_sources

    sg.close()
    return next(s for s in list_sources(sg) if s["name"] == name)


@pytest.fixture
def csg(tmp_path: Path):
    """A keyword-only Spyglass in a fresh data directory, one extraction worker."""
    from spyglass.app.spyglass import Spyglass
    from spyglass.core.config import Config

    cfg = Config()
    cfg.embedding.enabled = False
    cfg.index.workers = 1
    s = Spyglass(tmp_path / "home", config=cfg)
    yield s
    s.close_all()
