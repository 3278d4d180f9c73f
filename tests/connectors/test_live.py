"""Live means live: `watch` and the server sync each connector source at its own interval; a change on the server is
searchable within one interval; a server that is down reads "failing" in status and nothing indexed is lost."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest

from connutil import csg, found  # noqa: F401 (csg: a fixture)
from test_git import git, make_repo

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed (apt-get install git)")


def wait_for(fn, timeout: float) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if fn():
            return time.monotonic() - t0
        time.sleep(0.1)
    raise AssertionError("not within the time allowed")


def test_watch_syncs_each_interval(csg, tmp_path):
    from spyglass.app.connectors import add_source

    repo = make_repo(tmp_path / "repo")
    add_source(csg, "git", str(repo), name="repo", owner="user:alice", interval_s=1.0)
    stop, ready = threading.Event(), threading.Event()
    seen: list = []
    reader = type(csg)(csg.home, config=csg.config)
    t = threading.Thread(target=csg.watch, kwargs={"stop": stop, "ready": ready, "on_change": seen.append},
                         daemon=True)
    t.start()
    try:
        assert ready.wait(30)
        wait_for(lambda: found(reader, "quokkaengine") == ["Design"], 10)
        (repo / "live.txt").write_text("The lynxsignal arrived.\n")
        git(repo, "add", "live.txt")
        git(repo, "commit", "-qm", "live")
        took = wait_for(lambda: found(reader, "lynxsignal") == ["live.txt"], 10)
        assert took < 3.0  # one interval (1 s) plus the sync itself
    finally:
        stop.set()
        t.join(30)
        reader.close_all()
    assert any(s.added for s in seen)


def test_server_syncs_on_its_own_and_reports_failing(csg, tmp_path):
    pytest.importorskip("fastapi")
    import httpx
    from serverutil import LiveServer

    from spyglass.app.connectors import add_source

    repo = make_repo(tmp_path / "repo")
    add_source(csg, "git", str(repo), name="repo", owner="user:alice", interval_s=1.0)
    acc = csg.accounts
    acc.add_user("admin", "admin", "admin password 1")
    acc.add_user("alice", "member", "alice password 1")
    tokens = {u: acc.create_token(u) for u in ("admin", "alice")}
    csg.close_all()
    (Path(csg.home) / "config.toml").write_text("[embedding]\nenabled = false\n")
    with LiveServer(Path(csg.home), csg.config) as srv:
        def get(user: str, path: str, **params) -> dict:
            r = httpx.get(srv.url + path, params=params, headers={"Authorization": f"Bearer {tokens[user]}"},
                          timeout=30)
            assert r.status_code == 200, r.text
            return r.json()

        def titles(q: str) -> list[str]:
            return [h["title"] for h in get("alice", "/api/search", q=q, mode="keyword")["results"]]

        wait_for(lambda: titles("quokkaengine") == ["Design"], 15)  # first sync: nobody asked for it
        (repo / "live.txt").write_text("The serverheron landed.\n")
        git(repo, "add", "live.txt")
        git(repo, "commit", "-qm", "live")
        wait_for(lambda: titles("serverheron") == ["live.txt"], 10)
        shutil.rmtree(repo)  # the source is gone: failing, with the reason; the index keeps what it had
        wait_for(lambda: get("admin", "/api/sources")["sources"][0].get("state") == "failing", 10)
        src = get("admin", "/api/sources")["sources"][0]
        assert src["last_error"] and src["last_sync"] and src["name"] == "repo"
        assert titles("serverheron") == ["live.txt"]
        status = get("admin", "/api/status")
        assert status["sources"][0]["state"] == "failing"
