"""13.13 (ingestion's part): crashes and odd files leave nothing behind and lose nothing.

* ``kill -9`` in the middle of embedding left vectors no passage pointed at (2,512 vectors for 2,000 passages), never
  reclaimed: the next writer reclaims them.
* ``organize apply`` killed in the middle of a move across file systems left ``.spyglass-partial`` files and a second
  copy: resuming (or undoing) settles the move and removes what was half-written.
* FIFOs, sockets, devices and links to devices were skipped without a word: they are recorded, with the reason.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .secutil import SRC, open_sg, top_row

# -- orphan vectors ----------------------------------------------------------------------------------------------


def _vectors_state(home: Path) -> tuple[set[int], set[int], int]:
    """(ids held by the faiss index, vkeys the catalog knows, live passages)."""
    import faiss
    import numpy as np

    idx = faiss.read_index(str(home / "vectors" / "index.faiss"))
    ids = set(faiss.vector_to_array(idx.id_map).astype(np.int64).tolist()) if idx.ntotal else set()
    ts = home / "vectors" / "tombstones.npy"
    if ts.exists():
        ids -= set(np.load(ts).tolist())
    db = sqlite3.connect(home / "catalog.sqlite3")
    keys = {r[0] for r in db.execute("SELECT vkey FROM embeddings")}
    live = db.execute("SELECT count(*) FROM chunks c JOIN items i ON i.id = c.item_id WHERE i.status = 'ok'").fetchone()[0]
    db.close()
    return ids, keys, live


def _index_cmd(root: Path, home: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.Popen([sys.executable, "-m", "spyglass", "index", str(root), "--home", str(home), "--json",
                             "--wait"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True)


def _max_vkey(home: Path) -> int:
    try:
        db = sqlite3.connect(f"file:{home / 'catalog.sqlite3'}?mode=ro", uri=True, timeout=1)
        try:
            return db.execute("SELECT coalesce(max(vkey), 0) FROM embeddings").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def test_kill_9_mid_embedding_leaves_no_orphan_vectors(tmp_path):
    root = tmp_path / "d"
    root.mkdir()
    for i in range(300):
        (root / f"f{i:03d}.txt").write_text(f"document {i} about topic {i % 17} and subject {i % 23}")
    home = tmp_path / "home"
    p = _index_cmd(root, home)
    assert p.wait(timeout=600) == 0, p.stderr.read()
    ids, keys, live = _vectors_state(home)
    assert ids == keys and len(keys) == live == 300
    for i in range(300):  # every file changes: every passage is embedded again
        (root / f"f{i:03d}.txt").write_text(f"document {i} revised about topic {i % 19}")
    high = max(keys)
    p = _index_cmd(root, home)
    deadline = time.monotonic() + 300
    while _max_vkey(home) <= high:  # new vectors are being made, not yet saved: kill now
        assert p.poll() is None, "the run finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    p = _index_cmd(root, home)
    assert p.wait(timeout=600) == 0, p.stderr.read()
    ids, keys, live = _vectors_state(home)
    assert live == 300
    assert ids == keys, f"{len(ids - keys)} vectors no passage points at, {len(keys - ids)} passages without one"
    assert len(keys) == 300


def test_vectors_of_passages_the_catalog_forgot_are_reclaimed_on_open(tmp_path):
    """The same state, made directly: vectors whose keys no catalog row holds (and catalog rows whose vector is
    missing) are put right by the next writer."""
    import numpy as np

    from spyglass.index.embedding import open_vectors, sync_vectors

    from .test_ingest_sizes import _CountingEmbedder

    root = tmp_path / "d"
    root.mkdir()
    for i in range(20):
        (root / f"f{i}.txt").write_text(f"note {i}")
    sg = open_sg(tmp_path / "home")
    sg.index([str(root)])
    sg.close()
    emb = _CountingEmbedder()
    settings = sg.config.embedding
    with sg.open_writer() as data:
        sync_vectors(data, emb, settings)
        vecs = open_vectors(data, emb.model_id, emb.dim, 50_000, write=True)
        vecs.add([10_000, 10_001], np.ones((2, emb.dim), dtype=np.float32) / np.sqrt(emb.dim))  # orphans
        vecs.save()
        k = data.catalog.db.execute("SELECT vkey FROM embeddings LIMIT 1").fetchone()[0]
        vecs.remove([k])  # a passage whose vector is gone
        vecs.save()
    with sg.open_writer() as data:
        res = sync_vectors(data, emb, settings)
        assert (res["orphans_removed"], res["requeued"]) == (2, 1)
        vecs = open_vectors(data, emb.model_id, emb.dim, 50_000, write=False)
        keys = {r[0] for r in data.catalog.db.execute("SELECT vkey FROM embeddings")}
        import faiss

        assert set(faiss.vector_to_array(vecs.index.id_map).tolist()) == keys and len(keys) == 20


# -- organize: a move killed half-way across file systems ----------------------------------------------------------


def _other_fs(tmp_path: Path) -> Path:
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("needs /dev/shm on another file system than the temporary folder (a move across file systems)")
    d = shm / f"spyglass-test-{os.getpid()}-{time.monotonic_ns()}"
    d.mkdir()
    return d


CRASH = """
import os, signal, sys
from pathlib import Path
from spyglass.organize import apply as ap
from spyglass.organize.plan import Plan
point = sys.argv[3]
real_link, real_unlink, real_copy = os.link, os.unlink, ap.shutil.copy2
def die():
    os.kill(os.getpid(), signal.SIGKILL)
def link(src, dst):
    if point == "after-copy" and str(src).endswith(".spyglass-partial"):
        die()
    real_link(src, dst)
    if point == "after-link" and str(src).endswith(".spyglass-partial"):
        die()
def unlink(p):
    if point == "before-unlink-source" and not str(p).endswith(".spyglass-partial"):
        die()
    real_unlink(p)
ap.os.link, ap.os.unlink = link, unlink
ap.apply_plan(Plan.load(Path(sys.argv[1])), Path(sys.argv[2]))
"""


def _killed_move(tmp_path, src_dir, point, size):
    """A plan moving ``scan.pdf`` from another file system into ``tmp_path/filed``, applied in a child process that
    is killed at ``point``; returns (plan, journals, source, destination, the file's bytes, the child's result)."""
    from spyglass.organize.plan import Action, Plan

    src = src_dir / "scan.pdf"
    data = os.urandom(size)
    src.write_bytes(data)
    dst = tmp_path / "filed" / "scan.pdf"
    st = src.stat()
    plan = Plan.new([Action("move", str(src), str(dst), size=st.st_size, mtime_ns=st.st_mtime_ns)])
    plan_file = tmp_path / "plan.yaml"
    plan.write(plan_file)
    journals = tmp_path / "journals"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    out = subprocess.run([sys.executable, "-c", CRASH, str(plan_file), str(journals), point], env=env,
                         capture_output=True, timeout=120)
    return plan, journals, src, dst, data, out


@pytest.mark.parametrize("point", ["after-copy", "after-link", "before-unlink-source"])
def test_a_move_killed_across_file_systems_is_settled_on_resume(tmp_path, point):
    from spyglass.organize.apply import apply_plan

    src_dir = _other_fs(tmp_path)
    try:
        plan, journals, src, dst, data, out = _killed_move(tmp_path, src_dir, point, 300_000)
        assert out.returncode == -signal.SIGKILL, out.stderr
        report = apply_plan(plan, journals)  # resume
        assert [s.status for s in report.steps] == ["done"], report.to_dict()
        assert not src.exists() and dst.read_bytes() == data
        assert [p.name for p in dst.parent.iterdir()] == ["scan.pdf"], "a partial file or second copy is left"
    finally:
        for p in src_dir.iterdir():
            p.unlink()
        src_dir.rmdir()


@pytest.mark.parametrize("point", ["after-copy", "after-link"])
def test_undo_after_a_killed_move_leaves_one_copy_where_it_was(tmp_path, point):
    from spyglass.organize.apply import undo_plan

    src_dir = _other_fs(tmp_path)
    try:
        plan, journals, src, dst, data, _ = _killed_move(tmp_path, src_dir, point, 100_000)
        undo_plan(journals, plan.id)
        assert src.read_bytes() == data
        assert not dst.parent.exists() or list(dst.parent.iterdir()) == [], list(dst.parent.iterdir())
        assert [p.name for p in src_dir.iterdir()] == ["scan.pdf"]
    finally:
        for p in src_dir.iterdir():
            p.unlink()
        src_dir.rmdir()


# -- special files ------------------------------------------------------------------------------------------------


def test_fifos_sockets_and_devices_are_recorded_not_skipped_silently(tmp_path):
    root = tmp_path / "d"
    root.mkdir()
    (root / "good.txt").write_text("an ordinary file")
    os.mkfifo(root / "pipe.txt")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(root / "app.sock"))
    (root / "zero.txt").symlink_to("/dev/zero")
    made_device = True
    try:
        os.mknod(root / "null.dev", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except (PermissionError, OSError):
        made_device = False
    sg = open_sg(tmp_path / "home")
    t0 = time.monotonic()
    stats = sg.index([str(root)], follow_links_outside=True)  # even a followed link to a device is never read
    assert time.monotonic() - t0 < 60, "a FIFO or device was opened"
    assert sg.search("ordinary").total == 1
    expected = {"pipe.txt": "named pipe", "app.sock": "socket", "zero.txt": "character device"}
    if made_device:
        expected["null.dev"] = "character device"
    for name, what in expected.items():
        r = top_row(sg, root / name)
        assert r["status"] == "error" and r["error_kind"] == "special-file", r
        assert what in r["error"], r["error"]
    failures = {f["name"]: f for f in sg.status()["failures"]}
    assert set(expected) <= set(failures)
    assert stats.errors["special-file"] == len(expected)
    sock.close()
    sg.close()


def test_a_file_replaced_by_a_fifo_after_the_walk_is_not_opened(tmp_path):
    """The extraction process opens without blocking and checks what it opened is a regular file."""
    from spyglass.core.config import LimitSettings
    from spyglass.extraction.worker import Task, process

    fifo = tmp_path / "was-a-file.txt"
    os.mkfifo(fifo)
    t0 = time.monotonic()
    res = process(Task(key=1, path=str(fifo), name=fifo.name, kind=("text", "spyglass.extraction.text:extract_text")),
                  LimitSettings(), 300)
    assert time.monotonic() - t0 < 5
    assert res.status == "error" and res.error[0] == "special-file", res
    json.dumps(res.error)
