"""Indexing on a Ray cluster (`spyglass index --cluster`): a local Ray with 2 CPUs, started here, runs extraction and
embedding; this process (or a `spyglass index --cluster` subprocess) is the single writer. The index must equal a
local run's — documents, passages, vectors and search results — even when a Ray worker is killed mid-task or the
writer is killed with SIGKILL and run again."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="the cluster extra is not installed: pip install 'spyglass[cluster]' "
                                        "(scripts/bootstrap.sh installs it with the test extras)")

from conftest import keyword_config
from fixtures import UNIQUE, write_all_formats

from spyglass.app.spyglass import Spyglass
from spyglass.core.config import Config

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture(scope="module")
def cluster():
    """A throwaway local Ray cluster with 2 CPUs (its processes inherit this environment, so they import the same
    spyglass); its address is what `--cluster` takes."""
    if ray.is_initialized():
        ray.shutdown()
    os.environ.setdefault("PYTHONPATH", str(SRC))
    ctx = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="warning",
                   object_store_memory=200 * 1024 * 1024)
    yield ctx.address_info["address"]
    ray.shutdown()


def _words_corpus(root: Path, n: int, kb: float, seed: int = 7) -> None:
    """``n`` markdown files of about ``kb`` KB, each with a word of its own (``uniqN``)."""
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(3000)]
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        lines = [f"# Note {i}", "", f"uniq{i} is the word of note {i}."]
        size = 0
        while size < kb * 1024:
            line = " ".join(rng.choices(words, k=20)) + "."
            lines.append(line)
            size += len(line) + 1
        (root / f"note{i:03d}.md").write_text("\n".join(lines))


def _snapshot(home: Path) -> dict:
    """What an index holds, independent of timing: every live item with its fields, passages, principals and
    whether its passages have vectors."""
    con = sqlite3.connect(f"file:{home / 'catalog.sqlite3'}?mode=ro", uri=True)
    try:
        items = {}
        for row in con.execute(
                "SELECT id, path, locator, name, title, type, mime, size, status, error_kind, content_hash, n_chunks,"
                " meta, lex_dirty FROM items WHERE status != 'deleted'"):
            iid, *rest = row
            key = (rest[0], rest[1])
            chunks = [r[0] for r in con.execute("SELECT text FROM chunks WHERE item_id = ? ORDER BY ord", (iid,))]
            acl = sorted(r[0] for r in con.execute("SELECT principal FROM acl WHERE item_id = ?", (iid,)))
            assert key not in items, f"{key} indexed twice"
            items[key] = (*rest, chunks, acl)
        vectors = sorted(con.execute("SELECT i.path, i.locator, e.ord FROM embeddings e JOIN items i "
                                     "ON i.id = e.item_id").fetchall())
        return {"items": items, "vectors": vectors}
    finally:
        con.close()


def _names(sg: Spyglass, query: str, **kw) -> list[str]:
    sg.close()
    return [h.extra["name"] for h in sg.search(query, limit=10, **kw).hits]


def _ray_config(address: str, embedding: bool = True) -> Config:
    cfg = Config() if embedding else keyword_config()
    cfg.index.workers = 2
    cfg.cluster.address = address
    cfg.cluster.batch_files = 2
    return cfg


def test_same_index_locally_and_on_ray(tmp_path, cluster):
    root = tmp_path / "corpus"
    write_all_formats(root)
    _words_corpus(root / "notes", 12, 0.3)
    local_cfg = Config()
    local_cfg.index.workers = 2
    local = Spyglass(tmp_path / "local", config=local_cfg)
    on_ray = Spyglass(tmp_path / "ray", config=_ray_config(cluster))
    try:
        a = local.index([str(root)], wait=True)
        b = on_ray.index([str(root)], wait=True)
        assert b.semantic.get("passages") and b.semantic["finished"], b.semantic
        for k in ("scanned", "added", "failed", "documents", "passages", "bytes"):
            assert getattr(a, k) == getattr(b, k), k
        snap_a, snap_b = _snapshot(tmp_path / "local"), _snapshot(tmp_path / "ray")
        assert snap_a == snap_b
        assert snap_b["vectors"], "no vectors were made on the cluster"
        for fmt, word in UNIQUE.items():
            assert _names(local, word, mode="keyword") == _names(on_ray, word, mode="keyword"), fmt
        for q in ("a spreadsheet of numbers", "slides for a presentation", "note about w12 and w7"):
            assert _names(local, q, mode="semantic") == _names(on_ray, q, mode="semantic"), q
            assert _names(local, q) == _names(on_ray, q), q
        # a re-run on the cluster reads nothing again, and an edited file is read on the cluster
        again = on_ray.index([str(root)], wait=True)
        assert again.unchanged == a.scanned and again.added == again.updated == 0
        os.utime(root / "notes" / "note005.md", (time.time() + 60, time.time() + 60))  # touched, same content
        touched = on_ray.index([str(root)], wait=True)
        assert touched.unchanged == a.scanned and touched.updated == 0
        (root / "notes" / "note003.md").write_text("# Note 3\n\nzorbulate replaced the text")
        edited = on_ray.index([str(root)], wait=True)
        assert edited.updated == 1 and _names(on_ray, "zorbulate", mode="keyword") == ["note003.md"]
    finally:
        local.close()
        on_ray.close()


def test_per_file_time_limit_holds_on_the_workers(tmp_path, cluster):
    """The Ray task runs the same extraction process as local indexing: a file past [limits] timeout_s has its
    process killed and is recorded as a timeout, the file beside it is indexed."""
    root = tmp_path / "docs"
    root.mkdir()
    (root / "good.txt").write_text("the good file says sunflower")
    line = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor " * 4 + "\n"
    # ~6 s to extract on an idle core of the slower machines; 12 MB once finished inside the 0.5 s on a fast one
    (root / "big.txt").write_text(line * (48 * 1024 * 1024 // len(line)))
    cfg = _ray_config(cluster, embedding=False)
    cfg.limits.timeout_s = 0.5
    sg = Spyglass(tmp_path / "home", config=cfg)
    stats = sg.index([str(root)])
    failures = sg.status()["failures"]
    assert stats.added == 1 and stats.failed == 1 and [f["kind"] for f in failures] == ["timeout"], failures
    assert failures[0]["path"].endswith("big.txt") and "limits.timeout_s" in failures[0]["reason"]
    assert _names(sg, "sunflower") == ["good.txt"]
    sg.close()


def _extract_workers() -> list:
    """Ray worker processes executing an extraction task right now (Ray titles them after the task)."""
    import psutil

    out = []
    for p in psutil.process_iter(["cmdline"]):
        cmd = p.info["cmdline"] or []
        if cmd and cmd[0].startswith("ray::spyglass_extract"):
            out.append(p)
    return out


@pytest.mark.parametrize("retries", [3, 0], ids=["ray-retries-the-task", "batch-split-into-files"])
def test_ray_worker_killed_mid_run_loses_and_duplicates_nothing(tmp_path, cluster, retries):
    """SIGKILL a Ray worker while it extracts: Ray re-runs its task (max_retries), or with no retries left the
    writer splits the batch into one task per file; either way every file is indexed once."""
    root = tmp_path / "notes"
    _words_corpus(root, 30, 200)
    killed: list[int] = []
    stop = threading.Event()

    def killer() -> None:
        while not stop.is_set() and not killed:
            for p in _extract_workers():
                try:
                    p.send_signal(signal.SIGKILL)
                    killed.append(p.pid)
                except Exception:  # noqa: BLE001 - it finished in between: try the next one
                    continue
                break
            time.sleep(0.01)

    cfg = _ray_config(cluster, embedding=False)
    cfg.cluster.files = "shared"  # the workers open the files themselves (as with sources every node mounts)
    cfg.cluster.max_retries = retries
    sg = Spyglass(tmp_path / "ray", config=cfg)
    t = threading.Thread(target=killer, daemon=True)
    t.start()
    try:
        stats = sg.index([str(root)])
    finally:
        stop.set()
        t.join(5)
    assert killed, "no extraction task was seen running: the run ended before a worker could be killed"
    assert stats.added == 30 and stats.failed == 0, stats.as_dict()
    reference = Spyglass(tmp_path / "local", config=keyword_config())
    reference.index([str(root)])
    assert _snapshot(tmp_path / "ray") == _snapshot(tmp_path / "local")
    for i in (0, 17, 29):
        assert _names(sg, f"uniq{i}") == [f"note{i:03d}.md"]
    sg.close()
    reference.close()


def _count_items(home: Path) -> int:
    try:
        con = sqlite3.connect(f"file:{home / 'catalog.sqlite3'}?mode=ro", uri=True, timeout=1)
        try:
            return con.execute("SELECT count(*) FROM items").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def _spawn(root: Path, home: Path, address: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.Popen([sys.executable, "-m", "spyglass", "index", str(root), "--home", str(home), "--cluster",
                             address, "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            start_new_session=True)


def test_writer_killed_then_next_run_resumes(tmp_path, cluster):
    root = tmp_path / "notes"
    _words_corpus(root, 40, 200, seed=11)
    home = tmp_path / "home"
    home.mkdir()
    # one file per task, one task at a time: the run lasts long enough to be killed mid-way on a fast machine too
    (home / "config.toml").write_text("[embedding]\nenabled = false\n[cluster]\nbatch_files = 1\nworkers = 1\n")
    p = _spawn(root, home, cluster)
    deadline = time.monotonic() + 60
    while _count_items(home) < 10 and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert p.poll() is None, "the run ended before it could be killed: " + p.stderr.read().decode()[-2000:]
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    partial = _count_items(home)
    assert 10 <= partial, partial
    p = _spawn(root, home, cluster)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err.decode()[-3000:]
    stats = json.loads(out)
    assert stats["failed"] == 0 and stats["added"] + stats["unchanged"] + stats["updated"] == 40, stats
    reference = Spyglass(tmp_path / "local", config=keyword_config())
    reference.index([str(root)])
    reference.close()
    assert _snapshot(home) == _snapshot(tmp_path / "local")
    sg = Spyglass(home)
    assert sg.status()["pending_lexical"] == 0
    for i in (0, 39):
        assert _names(sg, f"uniq{i}") == [f"note{i:03d}.md"]
    sg.close()


def test_missing_extra_names_the_extra(tmp_path, monkeypatch):
    from spyglass.core.errors import MissingExtraError

    monkeypatch.setitem(sys.modules, "ray", None)
    sg = Spyglass(tmp_path / "home", config=_ray_config("127.0.0.1:1", embedding=False))
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.txt").write_text("hello")
    from spyglass.core.install import install_command

    with pytest.raises(MissingExtraError) as exc:
        sg.index([str(tmp_path / "d")])
    assert install_command("cluster") in str(exc.value)  # the command that installs it here
    sg.close()


def _cli(tmp_path: Path, *args: str, hide_ray: bool = False) -> subprocess.CompletedProcess:
    (tmp_path / "d").mkdir(exist_ok=True)
    (tmp_path / "d" / "a.txt").write_text("hello")
    code = ("import sys; sys.modules['ray'] = None\n" if hide_ray else "") + \
        "from spyglass.cli.main import main; main()"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.run([sys.executable, "-c", code, "index", str(tmp_path / "d"), "--home", str(tmp_path / "h"),
                           *args], check=False, capture_output=True, text=True, env=env, timeout=120)


def test_cli_errors_name_the_fix(tmp_path):
    """The command line says which extra to install (brackets and all) and fails fast on an address that does not
    answer (Ray alone would retry for minutes)."""
    out = _cli(tmp_path, "--cluster", "127.0.0.1:1", hide_ray=True)
    from spyglass.core.install import install_command

    assert out.returncode == 2 and install_command("cluster") in " ".join(out.stderr.split()), out.stderr
    t0 = time.monotonic()
    out = _cli(tmp_path, "--cluster", "127.0.0.1:1")
    assert out.returncode == 2 and time.monotonic() - t0 < 60, out.stderr
    assert "cannot reach the Ray cluster" in out.stderr and "[cluster] address" in " ".join(out.stderr.split())
