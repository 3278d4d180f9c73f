"""WebDAV against a real WsgiDAV started by the test (two users, one share each): a remote folder indexed like a local
one, incremental by ETag, deletions, permissions per account, downloads fetched again through the Spyglass server
with the caller's permissions, a server that goes down."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from connutil import csg, found, free_port, state, stop, sync, wait_port  # noqa: F401 (csg: a fixture)

pytest.importorskip("wsgidav", reason="WsgiDAV is in the test extra: pip install -e '.[test]'")
pytest.importorskip("cheroot", reason="cheroot is in the test extra: pip install -e '.[test]'")
USERS = {"alice": "alice-Dav-Secret-3", "bob": "bob-Dav-Secret-4"}


class WsgiDav:
    def __init__(self, root: Path) -> None:
        self.shares = {u: root / u for u in USERS}
        for p in self.shares.values():
            p.mkdir(parents=True)
        self.port = free_port()
        cfg = {"host": "127.0.0.1", "port": self.port, "verbose": 0, "logging": {"enable": False},
               "provider_mapping": {f"/{u}": str(p) for u, p in self.shares.items()},
               "http_authenticator": {"accept_basic": True, "accept_digest": False, "default_to_digest": False},
               "simple_dc": {"user_mapping": {f"/{u}": {u: {"password": pw}} for u, pw in USERS.items()}},
               "dir_browser": {"enable": False}}
        (root / "wsgidav.json").write_text(json.dumps(cfg))
        exe = Path(sys.executable).parent / "wsgidav"
        cmd = [str(exe)] if exe.exists() else [sys.executable, "-c", "from wsgidav.server.server_cli import run; run()"]
        self.proc = subprocess.Popen([*cmd, "-c", str(root / "wsgidav.json")], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        wait_port(self.port, self.proc)


@pytest.fixture
def dav(tmp_path):
    srv = WsgiDav(tmp_path / "dav")
    try:
        yield srv
    finally:
        stop(srv.proc)


def add(csg, srv: WsgiDav, user: str) -> str:
    from spyglass.app.connectors import add_source

    os.environ[f"TEST_WEBDAV_{user.upper()}"] = USERS[user]
    add_source(csg, "webdav", f"http://127.0.0.1:{srv.port}/{user}/", name=f"dav-{user}", owner=f"user:{user}",
               settings={"user": user, "password_env": f"TEST_WEBDAV_{user.upper()}"})
    return f"dav-{user}"


def fill(srv: WsgiDav) -> None:
    a = srv.shares["alice"]
    (a / "reports" / "2025").mkdir(parents=True)
    (a / "reports" / "2025" / "q1.md").write_text("# Q1 report\n\nThe gazellemetric grew in March.\n")
    (a / "notes.txt").write_text("Shopping list: lemons, flour.\n")
    (a / ".hidden.txt").write_text("gazellemetric hidden copy\n")
    (srv.shares["bob"] / "bob.txt").write_text("Bob's wombatsecret plan.\n")


def test_webdav_index_change_delete(csg, dav):
    fill(dav)
    name = add(csg, dav, "alice")
    st = sync(csg, name)
    assert st["added"] == 2 and st["failed"] == 0, st
    assert found(csg, "gazellemetric") == ["Q1 report"]
    hit = csg.search("gazellemetric", mode="keyword").hits[0]
    assert hit.path.endswith("/reports/2025/q1.md")

    (dav.shares["alice"] / "reports" / "2025" / "q1.md").write_text("# Q1 report\n\nThe ibexindex fell in March, "
                                                                    "after a long climb.\n")
    (dav.shares["alice"] / "todo.txt").write_text("Call the jackalvendor.\n")
    st = sync(csg, name)
    assert (st["added"], st["updated"], st["unchanged"]) == (1, 1, 1), st
    assert found(csg, "ibexindex") == ["Q1 report"] and found(csg, "gazellemetric") == []
    assert found(csg, "jackalvendor") == ["todo.txt"]

    shutil.rmtree(dav.shares["alice"] / "reports")
    st = sync(csg, name)
    assert st["deleted"] == 1 and found(csg, "ibexindex") == []

    stop(dav.proc)
    st = sync(csg, name)
    assert st["errors"]["source-failing"] == 1 and state(csg, name)["state"] == "failing"
    assert found(csg, "jackalvendor") == ["todo.txt"]


def test_webdav_acl_and_download_through_the_server(csg, dav):
    pytest.importorskip("fastapi")
    import httpx
    from serverutil import LiveServer

    fill(dav)
    sync(csg, add(csg, dav, "alice"))
    sync(csg, add(csg, dav, "bob"))
    assert found(csg, "wombatsecret", ["user:alice", "everyone"]) == []
    assert found(csg, "wombatsecret", ["user:bob", "everyone"]) == ["bob.txt"]
    assert found(csg, "gazellemetric", ["user:bob", "dav:bob@127.0.0.1", "everyone"]) == []
    doc_id = csg.search("gazellemetric", mode="keyword").hits[0].id
    acc = csg.accounts
    acc.add_user("alice", "member", "alice password 1")
    acc.add_user("bob", "member", "bob password 12")
    tokens = {u: acc.create_token(u) for u in ("alice", "bob")}
    csg.close_all()
    (Path(csg.home) / "config.toml").write_text("[embedding]\nenabled = false\n")
    with LiveServer(Path(csg.home), csg.config) as srv:
        def get(user: str, path: str) -> httpx.Response:
            return httpx.get(srv.url + path, headers={"Authorization": f"Bearer {tokens[user]}"}, timeout=30)

        r = get("alice", f"/api/documents/{doc_id}/file")
        assert r.status_code == 200 and b"gazellemetric" in r.content
        assert "sandbox" in r.headers["content-security-policy"]
        assert get("bob", f"/api/documents/{doc_id}/file").status_code == 404  # not bob's: as if it did not exist
        # changed on the server since indexing: not served until the next sync
        (dav.shares["alice"] / "reports" / "2025" / "q1.md").write_text("changed since\n")
        assert get("alice", f"/api/documents/{doc_id}/file").status_code == 404
        srcs = get("alice", "/api/sources")
        assert srcs.status_code == 403

