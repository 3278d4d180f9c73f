"""Connector tests: each starts the real server it talks to (or builds a real export sample) and stops it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


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
