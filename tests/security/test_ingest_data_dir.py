"""13.5: the data directory is private. It holds every indexed passage (catalog, keyword segments, vectors), the
accounts and the activity log: created 0700 with every file 0600, an existing wider directory is tightened when a
writer opens it, and ``spyglass status`` says so while it is wider.

The attack: any local user read the catalog of a 0755 data directory (``catalog.sqlite3`` was 0644) and with it
every passage of every indexed file, whatever the file's own permissions.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from .secutil import cli, open_sg


def _wide(home: Path) -> list[str]:
    """Everything in ``home`` (itself included) that group or others may use."""
    out = []
    for p in [home, *home.rglob("*")]:
        st = p.lstat()
        if stat.S_ISLNK(st.st_mode):
            continue
        if st.st_mode & 0o077:
            out.append(f"{p.relative_to(home.parent)} {stat.filemode(st.st_mode)}")
    return out


def _corpus(tmp_path: Path) -> Path:
    d = tmp_path / "docs"
    d.mkdir()
    (d / "a.txt").write_text("a private passage about the merger of acme and globex")
    (d / "b.md").write_text("# notes\n\nsalaries are listed in the second sheet")
    return d


def test_a_new_data_directory_is_private_every_store_included(tmp_path):
    """Through the command line, with embeddings on: catalog (and its WAL), keyword segments, vectors, manifest."""
    d = _corpus(tmp_path)
    home = tmp_path / "home"
    out = cli("index", str(d), "--home", str(home), "--json", "--wait")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["semantic"].get("passages"), out.stdout  # the vector store was written
    names = {p.name for p in home.rglob("*")}
    assert {"catalog.sqlite3", "manifest.json", "index.faiss", "meta.json"} <= names, names
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert _wide(home) == []


def test_the_library_makes_it_private_too(tmp_path):
    """Used as a library (no command line, the caller's umask): still private when the writer closes."""
    d = _corpus(tmp_path)
    old = os.umask(0o022)
    try:
        sg = open_sg(tmp_path / "home")
        sg.index([str(d)])
        sg.close()
    finally:
        os.umask(old)
    assert _wide(tmp_path / "home") == []


def test_an_existing_wide_home_is_tightened_on_open_by_a_writer(tmp_path):
    d = _corpus(tmp_path)
    home = tmp_path / "home"
    sg = open_sg(home)
    sg.index([str(d)])
    sg.close()
    for p in [home, *home.rglob("*")]:  # as an older Spyglass left it
        p.chmod(0o755 if p.is_dir() else 0o644)
    assert _wide(home)
    sg = open_sg(home)
    st = sg.status()  # a reader reports it, and changes nothing
    assert st["private"]["ok"] is False and st["private"]["wider"] >= 3
    assert f"chmod -R go-rwx {home}" in st["private"]["hint"]
    assert _wide(home)
    sg.index()  # a writer fixes it
    sg.close()
    assert _wide(home) == []
    assert open_sg(home).status()["private"]["ok"] is True


def test_status_says_so_on_the_command_line(tmp_path):
    d = _corpus(tmp_path)
    home = tmp_path / "home"
    sg = open_sg(home)
    sg.index([str(d)])
    sg.close()
    home.chmod(0o755)
    (home / "catalog.sqlite3").chmod(0o644)
    out = cli("status", "--home", str(home))
    assert out.returncode == 0, out.stderr
    assert "readable by other users" in out.stdout and "chmod -R go-rwx" in out.stdout, out.stdout


def test_a_local_user_cannot_read_the_catalog(tmp_path, accounts):
    """A real second Unix user tries to open the catalog and list the folder."""
    eve = accounts.user("eve")
    d = _corpus(tmp_path)
    home = tmp_path / "home"
    sg = open_sg(home)
    sg.index([str(d)])
    sg.close()
    probe = ("import sqlite3, sys, os\n"
             "home = sys.argv[1]\n"
             "try:\n"
             "    os.listdir(home); print('listed')\n"
             "except PermissionError: print('no-list')\n"
             "try:\n"
             "    open(os.path.join(home, 'catalog.sqlite3'), 'rb').read(16); print('read')\n"
             "except PermissionError: print('no-read')\n")
    out = subprocess.run(["setpriv", f"--reuid={eve.uid}", f"--regid={eve.gid}", "--clear-groups",
                          sys.executable, "-c", probe, str(home)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["no-list", "no-read"]


def test_folders_a_plan_creates_keep_their_parents_mode_under_the_private_umask(tmp_path):
    """The command line runs with umask 077 for the data directory; a folder that ``organize apply`` makes in the
    user's tree must still look like its siblings, not become private."""
    from spyglass.organize.apply import apply_plan
    from spyglass.organize.plan import Action, Plan

    root = tmp_path / "files"
    root.mkdir()
    root.chmod(0o755)
    f = root / "report.txt"
    f.write_text("quarterly")
    st = f.stat()
    plan = Plan.new([Action("move", str(f), str(root / "2024" / "q1" / "report.txt"), size=st.st_size,
                            mtime_ns=st.st_mtime_ns)])
    old = os.umask(0o077)
    try:
        report = apply_plan(plan, tmp_path / "journals")
    finally:
        os.umask(old)
    assert report.count("done") == 1
    assert stat.S_IMODE((root / "2024").stat().st_mode) == 0o755
    assert stat.S_IMODE((root / "2024" / "q1").stat().st_mode) == 0o755
    assert stat.S_IMODE((root / "2024" / "q1" / "report.txt").stat().st_mode) == stat.S_IMODE(st.st_mode)


def test_only_spyglass_files_are_tightened_in_a_shared_home(tmp_path):
    """Someone points --home at a folder that also holds their own files: Spyglass's stores are made private and the
    folder itself 0700 (nobody else gets in), their own subfolders keep their modes."""
    home = tmp_path / "home"
    mine = home / "my-notes"
    mine.mkdir(parents=True)
    mine.chmod(0o755)
    (mine / "n.txt").write_text("mine")
    (mine / "n.txt").chmod(0o644)
    sg = open_sg(home)
    sg.index([str(_corpus(tmp_path))])
    sg.close()
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE(mine.stat().st_mode) == 0o755 and stat.S_IMODE((mine / "n.txt").stat().st_mode) == 0o644
    assert [w for w in _wide(home) if "my-notes" not in w] == []
    assert open_sg(home).status()["private"]["ok"] is True
