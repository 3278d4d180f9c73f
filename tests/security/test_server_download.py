"""Attacks on the download path (issue 13.1, 13.3): a file served is the file that was indexed, opened without
following symlinks anywhere on its path, still readable by the caller now; a container is served whole only to a
caller who may read every item inside it. Real server, real files, real modes."""

from __future__ import annotations

import mailbox
import os
import shutil
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from serverutil import ALICE_GID, LiveServer, build_team_home

SECRET = "shadowsecretpayload"


def _mbox(path: Path, messages: list[tuple[str, str]]) -> None:
    box = mailbox.mbox(str(path))
    for i, (to, body) in enumerate(messages):
        m = EmailMessage()
        m["From"], m["To"], m["Subject"] = "carol@example.com", to, f"Note {i} about the walrus plan"
        m["Date"] = "Mon, 02 Sep 2024 10:00:00 +0000"
        m["Message-ID"] = f"<c{i}@example.com>"
        m.set_content(body)
        box.add(m)
    box.flush()
    box.close()


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    from spyglass.app.spyglass import Spyglass

    tmp = tmp_path_factory.mktemp("dl")
    home, root = build_team_home(tmp, embeddings=False)
    sub = root / "sub"
    sub.mkdir()
    (sub / "report.txt").write_text("The walrus report of the sub folder, readable by everyone.")
    (root / "victim.txt").write_text("The walrus victim file, readable by everyone, soon a symlink.")
    (root / "hard.txt").write_text("The walrus hard file, soon a hard link.")
    (root / "chmod.txt").write_text("The walrus chmod file, readable by everyone until it is not.")
    # a world-readable mailbox whose messages belong to different people
    _mbox(root / "shared.mbox", [("alice@example.com", f"walrus for alice only {SECRET}"),
                                 ("bob@example.com", "walrus for bob")])
    _mbox(root / "bobonly.mbox", [("bob@example.com", "walrus one for bob"), ("bob@example.com", "walrus two")])
    for name in ("shared.mbox", "bobonly.mbox"):
        (root / name).chmod(0o644)
    sg = Spyglass(home)
    sg.index()
    sg.accounts.update_user("bob", emails=["bob@example.com"])
    sg.close_all()
    secret = tmp / "outside" / "secret.txt"  # another user's 0600 file, outside every indexed root
    secret.parent.mkdir()
    secret.write_text(SECRET * 3)
    secret.chmod(0o600)
    with LiveServer(home) as s:
        s.tokens = {u: s.state.accounts.create_token(u, "t") for u in ("admin", "alice", "bob")}
        s.root, s.secret = root, secret
        yield s


def _client(srv, user: str) -> httpx.Client:
    return httpx.Client(base_url=srv.url, headers={"authorization": f"Bearer {srv.tokens[user]}"}, timeout=30)


def _id(srv, user: str, name: str, q: str = "walrus") -> str:
    """The id of the file ``name`` (for a mailbox: the parent of its messages that ``user`` may read)."""
    with _client(srv, user) as c:
        r = c.get("/api/search", params={"q": q, "mode": "keyword", "limit": 100})
    found = {}
    for h in r.json()["results"]:
        found[h["path"].rsplit("/", 1)[-1]] = h["parent_id"] or h["id"]
    return found[name]


def test_a_file_replaced_by_a_symlink_to_a_secret_is_not_served(srv):
    victim = srv.root / "victim.txt"
    doc = _id(srv, "bob", "victim.txt")
    with _client(srv, "bob") as c:
        assert c.get(f"/api/documents/{doc}/file").status_code == 200
        for target in (srv.secret, Path("/etc/shadow")):
            if not target.exists():
                continue
            victim.unlink()
            victim.symlink_to(target)
            r = c.get(f"/api/documents/{doc}/file")
            assert r.status_code == 404, (target, r.status_code)
            assert SECRET not in r.text and "root:" not in r.text
            assert "index" in r.json()["detail"]  # says to re-index


def test_a_parent_folder_swapped_for_a_symlink_is_not_followed(srv):
    """The attacker keeps the file's name, size and modification time, but moves the folder above it: a folder
    symlink that points at a look-alike copy (same size and mtime) must not be followed."""
    doc = _id(srv, "bob", "report.txt")
    sub = srv.root / "sub"
    with _client(srv, "bob") as c:
        assert c.get(f"/api/documents/{doc}/file").status_code == 200
        st = (sub / "report.txt").stat()
        fake = srv.root.parent / "fake-sub"
        fake.mkdir()
        body = (sub / "report.txt").read_text()
        (fake / "report.txt").write_text(SECRET[: len(body)].ljust(len(body), "x"))
        os.utime(fake / "report.txt", ns=(st.st_atime_ns, st.st_mtime_ns))
        shutil.move(str(sub), str(srv.root.parent / "real-sub"))
        sub.symlink_to(fake)
        r = c.get(f"/api/documents/{doc}/file")
        assert r.status_code == 404 and SECRET[:10] not in r.text


def test_a_hard_link_or_a_changed_file_is_refused(srv):
    doc = _id(srv, "bob", "hard.txt")
    hard = srv.root / "hard.txt"
    hard.unlink()
    os.link(srv.secret, hard)  # the same inode as the secret, at the indexed path
    with _client(srv, "bob") as c:
        r = c.get(f"/api/documents/{doc}/file")
    assert r.status_code == 404 and SECRET not in r.text


def test_readability_is_checked_again_at_download(srv):
    doc = _id(srv, "bob", "chmod.txt")
    f = srv.root / "chmod.txt"
    st = f.stat()
    os.chown(f, 0, ALICE_GID)
    f.chmod(0o640)  # now only root and alice's group may read it; size and mtime unchanged
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    with _client(srv, "bob") as c:
        assert c.get(f"/api/documents/{doc}/file").status_code == 404
    with _client(srv, "alice") as c:
        r = c.get(f"/api/documents/{doc}/file")
        assert r.status_code == 200 and "chmod file" in r.text


def test_downloads_still_support_ranges(srv):
    doc = _id(srv, "alice", "public-plan.txt", "zebra")
    with _client(srv, "alice") as c:
        r = c.get(f"/api/documents/{doc}/file", headers={"range": "bytes=0-8"})
    assert r.status_code == 206 and r.text == "Quarterly"


def test_a_container_is_served_whole_only_to_who_may_read_all_of_it(srv):
    box = _id(srv, "bob", "shared.mbox")
    with _client(srv, "bob") as c:
        r = c.get(f"/api/documents/{box}/file")
        assert r.status_code == 403 and SECRET not in r.text
        assert "one by one" in r.json()["detail"]
        d = c.get(f"/api/documents/{box}")
        assert SECRET not in d.text and d.json()["downloadable"] is False
        assert c.get(f"/api/summarize/{box}").status_code == 403
        own = _id(srv, "bob", "bobonly.mbox")
        r = c.get(f"/api/documents/{own}/file")
        assert r.status_code == 200 and "walrus one for bob" in r.text
