from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from spyglass.evaluation.registry import DATA_HINT, find_data_dir  # noqa: E402

# The shared evaluation data: $SPYGLASS_DATA, else ../shared/data beside the checkout. Tests that need it skip with
# NO_DATA as their reason (./run-tests prints the reasons of skips).
DATA = find_data_dir() or Path(os.environ.get("SPYGLASS_DATA") or "../shared/data")
NO_DATA = f"shared data not found at {DATA}: {DATA_HINT}"


def keyword_config():
    """A configuration without embeddings, for tests that are not about semantic search (keeps them fast)."""
    from spyglass.core.config import Config

    cfg = Config()
    cfg.embedding.enabled = False
    return cfg


def keyword_home(home: Path) -> Path:
    """A data directory whose config.toml turns embeddings off (for tests that run the CLI)."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text("[embedding]\nenabled = false\n")
    return home


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def sg(home: Path):
    from spyglass.app.spyglass import Spyglass

    cfg = keyword_config()
    cfg.index.workers = 2
    s = Spyglass(home, config=cfg)
    yield s
    s.close()


def hits(sg, query: str, **kw) -> list[str]:
    """Names of the documents a search returns."""
    sg.close()
    res = sg.search(query, limit=kw.pop("limit", 50), **kw)
    return [h.extra["name"] for h in res.hits]
