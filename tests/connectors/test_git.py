"""git: files at HEAD with the last commit that touched them, commit messages as documents — from a local
repository and from `git daemon` serving git:// on a free port."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from connutil import csg, found, free_port, state, stop, sync, wait_port  # noqa: F401 (csg: a fixture)

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed (apt-get install git)")

ALICE, BOB = "user:alice", "user:bob"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env={"GIT_AUTHOR_NAME": "Ada Lovelace", "GIT_AUTHOR_EMAIL": "ada@example.com",
                               "GIT_COMMITTER_NAME": "Ada Lovelace", "GIT_COMMITTER_EMAIL": "ada@example.com",
                               "HOME": str(repo.parent), "PATH": "/usr/bin:/bin"}).stdout


def make_repo(path: Path) -> Path:
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    (path / "docs").mkdir()
    (path / "docs" / "design.md").write_text("# Design\n\nThe quokkaengine streams records through a ring buffer.\n")
    (path / "README").write_text("Project readme: build with make.\n")
    git(path, "add", ".")
    git(path, "commit", "-qm", "Add the pelicanparser design notes")
    return path


def test_local_repository_index_change_delete(csg, tmp_path):
    from spyglass.app.connectors import add_source

    repo = make_repo(tmp_path / "repo")
    add_source(csg, "git", str(repo), name="repo", owner=ALICE)
    st = sync(csg, "repo")
    assert st["added"] == 3 and st["failed"] == 0, st  # two files and one commit
    assert found(csg, "quokkaengine") == ["Design"]
    assert found(csg, "pelicanparser type:commit") == ["Add the pelicanparser design notes"]
    hit = csg.search("quokkaengine", mode="keyword").hits[0]
    doc = csg.document(hit.id)
    assert doc["author"] == "Ada Lovelace"

    (repo / "docs" / "design.md").write_text("# Design\n\nThe walrusqueue replaced the ring buffer.\n")
    git(repo, "commit", "-qam", "Switch to the walrusqueue")
    st = sync(csg, "repo")
    assert st["updated"] == 1 and st["added"] == 1 and st["unchanged"] == 2, st
    assert found(csg, "walrusqueue type:markdown") == ["Design"]
    assert found(csg, "quokkaengine type:markdown") == []
    meta = csg.reader().catalog.items([csg.search("walrusqueue type:markdown", mode="keyword").hits[0].id])
    assert "Switch to the walrusqueue" in next(iter(meta.values()))["meta"]  # the last commit that touched it

    git(repo, "rm", "-q", "docs/design.md")
    git(repo, "commit", "-qm", "Drop the design")
    sync(csg, "repo")
    assert found(csg, "walrusqueue type:markdown") == []
    assert state(csg, "repo")["state"] == "ok"


def test_acl_only_the_owner_and_readers(csg, tmp_path):
    from spyglass.app.connectors import add_source

    repo = make_repo(tmp_path / "repo")
    add_source(csg, "git", str(repo), name="repo", owner=ALICE, readers=["group:eng"])
    stats = csg.index()  # `spyglass index` without paths syncs connector sources with the others
    assert stats.added == 3
    assert found(csg, "quokkaengine", [ALICE]) == ["Design"]
    assert found(csg, "quokkaengine", ["group:eng"]) == ["Design"]
    assert found(csg, "quokkaengine", [BOB, "everyone"]) == []
    assert found(csg, "pelicanparser", [BOB, "everyone"]) == []


def test_git_daemon_remote_and_down(csg, tmp_path):
    from spyglass.app.connectors import add_source

    base = tmp_path / "served"
    base.mkdir()
    make_repo(base / "proj")
    port = free_port()
    daemon = subprocess.Popen(["git", "daemon", "--reuseaddr", "--export-all", f"--base-path={base}",
                               f"--port={port}", "--listen=127.0.0.1", str(base)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_port(port, daemon)
        add_source(csg, "git", f"git://127.0.0.1:{port}/proj", name="remote", owner=ALICE)
        st = sync(csg, "remote")
        assert st["added"] == 3, st
        assert found(csg, "quokkaengine", [ALICE]) == ["Design"]
        (base / "proj" / "notes.txt").write_text("The ibisprotocol handshake.\n")
        git(base / "proj", "add", "notes.txt")
        git(base / "proj", "commit", "-qm", "notes")
        sync(csg, "remote")
        assert found(csg, "ibisprotocol", [ALICE]) == ["notes.txt"]
    finally:
        stop(daemon)
    st = sync(csg, "remote")  # the daemon is gone: failing, nothing removed
    assert st["errors"].get("source-failing") == 1
    s = state(csg, "remote")
    assert s["state"] == "failing" and s["last_error"]
    assert found(csg, "ibisprotocol", [ALICE]) == ["notes.txt"]


def test_cli_sources_add_list_remove_and_secrets_refused(tmp_path):
    """The command line: add (and sync), list --json, sync, remove; a secret given inline is refused."""
    import json

    from typer.testing import CliRunner

    from spyglass.cli.main import app

    repo = make_repo(tmp_path / "repo")
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text("[embedding]\nenabled = false\n")

    class R:
        def __init__(self, res) -> None:
            self.returncode, self.stdout = res.exit_code, res.stdout
            self.stderr = getattr(res, "stderr", "") or res.output

    def cli(*args: str) -> R:
        return R(CliRunner().invoke(app, [*args, "--home", str(home)]))

    r = cli("sources", "add", "git", str(repo), "--name", "proj", "--owner", ALICE, "--interval", "60", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["sync"]["proj"]["added"] == 3
    listed = json.loads(cli("sources", "list", "--json").stdout)["sources"]
    assert [(s["name"], s["kind"], s["state"], s["items"], s["interval_s"]) for s in listed] == \
        [("proj", "git", "ok", 3, 60.0)]
    assert json.loads(cli("sources", "--json").stdout)["sources"][0]["name"] == "proj"
    assert json.loads(cli("sources", "sync", "proj", "--json").stdout)["sync"]["proj"]["unchanged"] == 3
    r = cli("sources", "add", "webdav", "http://alice:hunter2@127.0.0.1:1/dav/", "--no-sync")
    assert r.returncode == 2 and "password" in r.stderr
    r = cli("sources", "add", "imap", "imap://127.0.0.1:1", "-o", "password=hunter2", "--no-sync")
    assert r.returncode == 2 and "never stored" in r.stderr
    r = cli("sources", "remove", "proj", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["removed"]["items"] >= 3
    assert json.loads(cli("sources", "list", "--json").stdout)["sources"] == []
    assert b"hunter2" not in (home / "catalog.sqlite3").read_bytes()


def test_hostile_locations_run_nothing(csg, tmp_path):
    """An ext:: URL would run a command, an option-like location would be an option: `sources add` takes only URLs
    and existing paths, and the connector itself lets git run no transport but plain ones."""
    from spyglass.app.connectors import add_source
    from spyglass.core.errors import SpyglassError
    from spyglass.sources.connector import ConnectorError, SourceSpec
    from spyglass.sources.git import GitConnector

    marker = tmp_path / "ran"
    for bad in (f"ext::sh -c touch% {marker}", "--upload-pack=touch /tmp/x:"):
        with pytest.raises(SpyglassError):
            add_source(csg, "git", bad, name="bad", owner=ALICE)
    spec = SourceSpec("git", "x", f"ext::sh -c touch% {marker}", {"_workdir": str(tmp_path / "work")}, ALICE)
    with pytest.raises(ConnectorError):
        GitConnector(spec)
    assert not marker.exists()
