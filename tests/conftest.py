from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

SHARED = Path(os.environ.get("SPYGLASS_SHARED", Path(__file__).resolve().parents[2] / "shared"))
DATA = SHARED / "data"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def sg(home: Path):
    from spyglass.app.spyglass import Spyglass
    from spyglass.core.config import Config

    cfg = Config()
    cfg.index.workers = 2
    s = Spyglass(home, config=cfg)
    yield s
    s.close()


def hits(sg, query: str, **kw) -> list[str]:
    """Names of the documents a search returns."""
    sg.close()
    res = sg.search(query, limit=kw.pop("limit", 50), **kw)
    return [h.extra["name"] for h in res.hits]
