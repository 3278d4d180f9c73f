"""Connector sync throughput against local servers (a measurement, not a test).

    flock /work/bench.lock nice -n 5 .venv/bin/python benchmarks/bench_connectors.py [--items N]

Starts the same real servers the connector tests use (Dovecot, Radicale, WsgiDAV, a git repository, a Maildir and a
Firefox profile built here), fills each with N items, then times for each: the first sync (list, fetch, extract,
write the catalog, commit the keyword index; embeddings off) and a second sync with nothing changed (listing and
token comparison only). Prints one JSON line per connector: items, first-sync seconds and items/s, no-change seconds.
"""

from __future__ import annotations

import argparse
import imaplib
import json
import mailbox
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests" / "connectors"))

BODY = "Quarterly numbers for the {n} project: revenue, costs and the plan for next spring. " * 8


def new_sg(tmp: Path, name: str):
    from spyglass.app.spyglass import Spyglass
    from spyglass.core.config import Config

    cfg = Config()
    cfg.embedding.enabled = False
    return Spyglass(tmp / f"home-{name}", config=cfg)


def measure(sg, kind: str, location: str, n: int, **kw) -> dict:
    from spyglass.app.connectors import add_source, sync

    add_source(sg, kind, location, name=kind, owner="user:bench", **kw)
    t0 = time.perf_counter()
    st = sync(sg, [kind])[kind]
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = sync(sg, [kind])[kind]
    second = time.perf_counter() - t0
    assert st.failed == 0 and again.unchanged >= n, (st.as_dict(), again.as_dict())
    sg.close_all()
    return {"connector": kind, "items": st.added, "first_sync_s": round(first, 2),
            "items_per_s": round(st.added / first, 1), "no_change_sync_s": round(second, 2)}


def bench_imap(tmp: Path, n: int) -> dict:
    from test_imap import PASSWORDS, message, start_dovecot

    with start_dovecot() as (port, _):
        m = imaplib.IMAP4("127.0.0.1", port)
        m.login("alice", PASSWORDS["alice"])
        for i in range(n):
            m.append("INBOX", None, None, message(f"Report {i}", BODY.format(n=i), "alice@example.com"))
        m.logout()
        os.environ["BENCH_IMAP"] = PASSWORDS["alice"]
        return measure(new_sg(tmp, "imap"), "imap", f"imap://127.0.0.1:{port}", n,
                       settings={"user": "alice", "password_env": "BENCH_IMAP"})


def bench_caldav(tmp: Path, n: int) -> dict:
    from connutil import stop
    from test_caldav import USERS, Radicale, event

    srv = Radicale(tmp / "radicale")
    try:
        srv.req("alice", "MKCALENDAR", "/alice/work/")
        for i in range(n):
            srv.req("alice", "PUT", f"/alice/work/e{i}.ics",
                    event(f"e{i}", f"Meeting {i}", "20250310T140000Z", ["bob@example.com"], BODY.format(n=i)),
                    "text/calendar")
        os.environ["BENCH_DAV"] = USERS["alice"]
        return measure(new_sg(tmp, "caldav"), "caldav", f"http://127.0.0.1:{srv.port}/alice/", n,
                       settings={"user": "alice", "password_env": "BENCH_DAV"})
    finally:
        stop(srv.proc)


def bench_webdav(tmp: Path, n: int) -> dict:
    from connutil import stop
    from test_webdav import USERS, WsgiDav

    srv = WsgiDav(tmp / "webdav")
    try:
        for i in range(n):
            d = srv.shares["alice"] / f"folder{i % 20}"
            d.mkdir(exist_ok=True)
            (d / f"note{i}.txt").write_text(BODY.format(n=i))
        os.environ["BENCH_WEBDAV"] = USERS["alice"]
        return measure(new_sg(tmp, "webdav"), "webdav", f"http://127.0.0.1:{srv.port}/alice/", n,
                       settings={"user": "alice", "password_env": "BENCH_WEBDAV"})
    finally:
        stop(srv.proc)


def bench_git(tmp: Path, n: int) -> dict:
    repo = tmp / "repo"
    env = {**os.environ, "GIT_AUTHOR_NAME": "B", "GIT_AUTHOR_EMAIL": "b@x", "GIT_COMMITTER_NAME": "B",
           "GIT_COMMITTER_EMAIL": "b@x"}
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    commits = max(1, n // 10)
    for c in range(commits):
        for i in range(c * 9, c * 9 + 9):
            (repo / f"file{i}.md").write_text(BODY.format(n=i))
        subprocess.run(["git", "-C", str(repo), "add", "."], check=True, env=env)
        subprocess.run(["git", "-C", str(repo), "commit", "-qm", f"commit {c}"], check=True, env=env)
    return measure(new_sg(tmp, "git"), "git", str(repo), commits * 10)


def bench_maildir(tmp: Path, n: int) -> dict:
    from test_exports import mail

    md = mailbox.Maildir(str(tmp / "Maildir"), create=True)
    for i in range(n):
        md.add(mail(f"Report {i}", BODY.format(n=i)))
    return measure(new_sg(tmp, "maildir"), "maildir", str(tmp / "Maildir"), n)


def bench_firefox(tmp: Path, n: int) -> dict:
    p = tmp / "ff"
    p.mkdir()
    con = sqlite3.connect(p / "places.sqlite")
    con.executescript("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT, title TEXT, visit_count INTEGER, "
                      "last_visit_date INTEGER); CREATE TABLE moz_bookmarks (id INTEGER PRIMARY KEY, type INTEGER, "
                      "fk INTEGER, parent INTEGER, title TEXT);")
    now = time.time() * 1e6
    con.executemany("INSERT INTO moz_places(url, title, visit_count, last_visit_date) VALUES (?, ?, 1, ?)",
                    [(f"https://example.org/page{i}", f"Page {i} about things", now - i * 1e9) for i in range(n)])
    con.commit()
    con.close()
    return measure(new_sg(tmp, "firefox"), "firefox", str(p), n)


def bench_eml_folder(tmp: Path, n: int) -> dict:
    """Reference: the same messages as .eml files in a folder, through `spyglass index` (no connector)."""
    from test_exports import mail

    d = tmp / "eml"
    d.mkdir()
    for i in range(n):
        (d / f"m{i}.eml").write_bytes(mail(f"Report {i}", BODY.format(n=i)).as_bytes())
    sg = new_sg(tmp, "eml")
    t0 = time.perf_counter()
    st = sg.index([str(d)])
    first = time.perf_counter() - t0
    sg.close_all()
    return {"connector": "folder of .eml (reference)", "items": st.added, "first_sync_s": round(first, 2),
            "items_per_s": round(st.added / first, 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=500)
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    benches = {"imap": bench_imap, "caldav": bench_caldav, "webdav": bench_webdav, "git": bench_git,
               "maildir": bench_maildir, "firefox": bench_firefox, "eml": bench_eml_folder}
    for name, fn in benches.items():
        if a.only and name not in a.only.split(","):
            continue
        with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as d:
            print(json.dumps(fn(Path(d), a.items)), flush=True)


if __name__ == "__main__":
    main()
