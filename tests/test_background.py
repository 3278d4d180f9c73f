"""Time to value (issue 17): `spyglass index` returns once keyword search works, vectors follow in a background
process by value (first passages, prose, recent and opened files first; machine data and duplicate passages cost
nothing more), which gives way to other writers and survives kill -9 without a passage embedded twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from spyglass.app.spyglass import Spyglass
from spyglass.core.config import Config

WORDS = ("river mountain forest harbour bridge castle meadow valley glacier canyon island desert village orchard "
         "lighthouse quarry marsh plateau waterfall vineyard").split()


def _text(seed: int, words: int) -> str:
    rng = np.random.default_rng(seed)
    return " ".join(rng.choice(WORDS, size=words)) + "."


def _catalog(home: Path):
    import sqlite3

    return sqlite3.connect(home / "catalog.sqlite3")


def _vector_keys(home: Path) -> list[int]:
    from spyglass.index.vectors import VectorIndex

    return sorted(VectorIndex(home / "vectors", 384).keys())


def test_the_queue_is_by_value_and_machine_data_and_duplicates_cost_nothing(tmp_path):
    from spyglass.index.embedding import FIRST, sync_vectors

    root = tmp_path / "docs"
    root.mkdir()
    for i in range(6):
        (root / f"report-{i}.txt").write_text(_text(i, 900))  # prose: 3 passages each (300 words)
    (root / "data.json").write_text(json.dumps([{"k": _text(100 + i, 60)} for i in range(40)]))  # machine data
    (root / "copy-a.txt").write_text("The same memo, word for word. " * 20)
    (root / "copy-b.txt").write_text("the same memo word for word " * 20)  # another spelling of the same words
    sg = Spyglass(tmp_path / "home", config=Config())
    sg.index([str(root)], wait=False)  # keyword index only (no background process: the test runs the pass)
    sg.close()
    with sg.open_writer() as data:
        first = sync_vectors(data, sg.embedder(), sg.config.embedding, deadline=time.monotonic() - 1)
        assert first["passages"] == 0 and not first["finished"]  # queued, nothing embedded yet
        queue = data.catalog.db.execute("SELECT item_id, ord, prio FROM emb_todo ORDER BY prio DESC").fetchall()
        assert all(o == 0 for _, o, _ in queue[:9]) and all(p >= FIRST for *_, p in queue[:9])  # firsts first
        names = dict(data.catalog.db.execute("SELECT id, name FROM items"))
        data_ords = [o for i, o, _ in queue if names[i] == "data.json"]
        assert data_ords == [0]  # machine data: its first passage only
        firsts = [names[i] for i, o, _ in queue if o == 0]
        assert firsts.index("data.json") == len(firsts) - 1  # prose before data
        done = sync_vectors(data, sg.embedder(), sg.config.embedding)
        assert done["finished"] and done["reused"] >= 1  # copy-b reuses copy-a's vector
        n = data.catalog.db.execute("SELECT count(*) FROM embeddings").fetchone()[0]
    assert n == len(queue) and _vector_keys(sg.home) == sorted(
        r[0] for r in _catalog(sg.home).execute("SELECT vkey FROM embeddings"))
    res = sg.search("castle harbour meadow", mode="semantic")
    assert res.hits and res.mode == "semantic"


def _spy(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "SPYGLASS_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "spyglass", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def _wait_done(home: Path, timeout: float = 240) -> dict:
    from spyglass.app.background import progress

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        state = progress(home)
        if state.get("state") == "done":
            return state
        time.sleep(0.5)
    raise AssertionError(f"the background embedder did not finish: {progress(home)}")


@pytest.mark.timeout(600)
def test_index_returns_first_and_a_killed_embedder_resumes_without_embedding_twice(tmp_path):
    root = tmp_path / "docs"
    root.mkdir()
    for i in range(60):
        (root / f"note-{i:02d}.txt").write_text(_text(1000 + i, 1500))  # 5 passages each: 300 to embed
    home = tmp_path / "home"
    t0 = time.monotonic()
    out = _spy("index", str(root), "--json", home=home)
    assert out.returncode == 0, out.stderr
    returned = time.monotonic() - t0
    stats = json.loads(out.stdout)
    bg = stats["semantic"]["background"]
    assert bg["pid"] and bg["pending_passages"] == 300
    # keyword search answers while the vectors are being made
    found = json.loads(_spy("search", "lighthouse", "--mode", "keyword", "--json", home=home).stdout)
    assert found["total"] > 0
    status = json.loads(_spy("status", "--json", home=home).stdout)
    assert status["semantic"]["coverage"] < 1.0
    # kill -9 the embedder mid-run, then any `spyglass index` starts it again and it converges
    time.sleep(3)
    os.kill(bg["pid"], signal.SIGKILL)
    time.sleep(0.5)
    assert _spy("index", "--json", home=home).returncode == 0
    _wait_done(home)
    db = _catalog(home)
    rows = db.execute("SELECT count(*), count(DISTINCT item_id || ':' || ord) FROM embeddings").fetchone()
    assert rows == (300, 300)  # every passage has exactly one vector
    assert db.execute("SELECT count(*) FROM emb_todo").fetchone()[0] == 0
    assert _vector_keys(home) == sorted(r[0] for r in db.execute("SELECT vkey FROM embeddings"))  # no orphans
    status = json.loads(_spy("status", "--json", home=home).stdout)
    assert status["semantic"]["coverage"] == 1.0
    assert returned < 60  # informative bound: the keyword index of 60 small files, not the embedding


def test_a_writer_makes_the_background_embedder_give_way(tmp_path):
    root = tmp_path / "docs"
    root.mkdir()
    for i in range(40):
        (root / f"page-{i:02d}.txt").write_text(_text(2000 + i, 1500))
    home = tmp_path / "home"
    assert _spy("index", str(root), home=home).returncode == 0
    time.sleep(2)  # the embedder holds the lock now
    (root / "late.txt").write_text("a late addition about a lighthouse keeper")
    out = _spy("index", "--json", home=home)  # waits for the embedder to give way, then indexes
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["added"] == 1
    _wait_done(home)
    db = _catalog(home)
    total = db.execute("SELECT coalesce(sum(n_chunks), 0) FROM items WHERE status = 'ok'").fetchone()[0]
    assert db.execute("SELECT count(*) FROM embeddings").fetchone()[0] == total
