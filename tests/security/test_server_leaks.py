"""Smaller server leaks (issue 13.6, 13.12, 13.13): global counts in /api/status, 500s from the query language,
query strings in the access log, removing another user's tag, a message summarized as its whole mailbox, and a caller
without principals."""

from __future__ import annotations

import logging
import mailbox
from email.message import EmailMessage

import httpx
import pytest

from serverutil import ALICE_WORD, LiveServer, build_team_home


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    from spyglass.app.spyglass import Spyglass

    home, root = build_team_home(tmp_path_factory.mktemp("leaks"), embeddings=False)
    box = mailbox.mbox(str(root / "alice.mbox"))
    for i, word in enumerate(("pelicanfirst", "pelicansecond")):
        m = EmailMessage()
        m["From"], m["To"], m["Subject"] = "carol@example.com", "alice@example.com", f"Pelican {i}"
        m["Message-ID"] = f"<p{i}@example.com>"
        m.set_content(f"The {word} message about the pelican budget. " * 3)
        box.add(m)
    box.flush()
    box.close()
    (root / "alice.mbox").chmod(0o600)  # the file is root's; its messages are readable by their addressees
    sg = Spyglass(home)
    sg.index()
    sg.close_all()
    with LiveServer(home) as s:
        s.tokens = {u: s.state.accounts.create_token(u, "t") for u in ("admin", "alice", "bob")}
        yield s


def _c(srv, user):
    return httpx.Client(base_url=srv.url, headers={"authorization": f"Bearer {srv.tokens[user]}"}, timeout=30)


def test_status_counts_only_what_the_caller_may_read(srv):
    with _c(srv, "admin") as c:
        everything = c.get("/api/status").json()["documents"]
    with _c(srv, "bob") as c:
        bob = c.get("/api/status").json()
        total = c.get("/api/search", params={"q": "zebra OR handbook OR pelican", "mode": "keyword"}).json()["total"]
    with _c(srv, "alice") as c:
        alice = c.get("/api/status").json()
    assert bob["documents"] == 3 and total == 3  # the public plan, the handbook and bob's draft
    assert alice["documents"] > bob["documents"] and everything > alice["documents"]
    assert not {"failures", "by_status", "sources", "home", "manifest"} & set(bob)
    assert set((bob.get("last_run") or {})) <= {"finished"}


@pytest.mark.parametrize("q", ["larger:99999999999gb", "topic:99999999999999999999", "smaller:1" + "0" * 400,
                               "larger:1e400", "after:99999", "near:1e400,1", "taken:0-0"])
def test_query_language_errors_are_400_with_a_message(srv, q):
    with _c(srv, "bob") as c:
        for mode in ("keyword", "hybrid"):
            r = c.get("/api/search", params={"q": q, "mode": mode, "facets": "true"})
            assert r.status_code == 400, (q, r.status_code, r.text)
            assert r.json()["detail"]


def test_the_access_log_keeps_no_query_string(srv):
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    log = logging.getLogger("uvicorn.access")
    handler, level = Keep(), log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        with _c(srv, "alice") as c:
            c.get("/api/search", params={"q": f"{ALICE_WORD} salary", "mode": "keyword"})
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
    lines = [r.getMessage() for r in records]
    assert any("/api/search" in line for line in lines), lines
    assert not any(ALICE_WORD in line or "salary" in line for line in lines), lines


def test_only_a_tags_author_or_an_admin_removes_it(srv):
    with _c(srv, "alice") as c:
        plan = next(h["id"] for h in c.get("/api/search", params={"q": "zebra", "mode": "keyword"}).json()["results"]
                    if h["path"].endswith("public-plan.txt"))
        assert c.post(f"/api/documents/{plan}/tags", json={"tag": "alices-tag"}).status_code == 201
    with _c(srv, "bob") as c:
        r = c.delete(f"/api/documents/{plan}/tags/alices-tag")
        assert r.status_code == 403, r.text
        assert c.post(f"/api/documents/{plan}/tags", json={"tag": "alices-tag", "origin": "rejected"}).status_code == 403
        assert "alices-tag" in c.get(f"/api/documents/{plan}/tags").text
        assert c.post(f"/api/documents/{plan}/tags", json={"tag": "bobs-tag"}).status_code == 201
    with _c(srv, "alice") as c:
        assert c.delete(f"/api/documents/{plan}/tags/alices-tag").status_code == 200
    with _c(srv, "admin") as c:
        assert c.delete(f"/api/documents/{plan}/tags/bobs-tag").status_code == 200


def test_a_message_is_summarized_alone(srv):
    with _c(srv, "alice") as c:
        hits = c.get("/api/search", params={"q": "pelicanfirst", "mode": "keyword"}).json()["results"]
        first = next(h for h in hits if "Pelican 0" in h["title"])
        r = c.get(f"/api/summarize/{first['id']}")
    assert r.status_code == 200, r.text
    assert "pelicanfirst" in r.json()["summary"] and "pelicansecond" not in r.json()["summary"]


def test_a_caller_without_principals_is_refused_not_let_through(srv, monkeypatch):
    """Should principal resolution ever come back empty, the server refuses instead of reading unrestricted."""
    state = srv.state
    token = state.accounts.create_token("bob", "empty")
    monkeypatch.setattr(state, "principals", lambda user: [])
    with httpx.Client(base_url=srv.url, headers={"authorization": f"Bearer {token}"}) as c:
        for path in ("/api/search?q=zebra", "/api/status", f"/api/search?q={ALICE_WORD}"):
            r = c.get(path)
            assert r.status_code == 403 and ALICE_WORD not in r.text, path
        r = c.post("/mcp/", json={"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                  "params": {"name": "search", "arguments": {"query": "zebra"}}},
                   headers={"accept": "application/json, text/event-stream"})
        assert r.status_code in (401, 403) or r.json()["result"]["isError"] is True, r.text
        assert "public-plan" not in r.text and "handbook" not in r.text
