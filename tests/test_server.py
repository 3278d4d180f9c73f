"""The team server over real HTTP: authentication, roles, and a suite that tries to leak another user's documents
through every read path (search in each mode, totals, facets, snippets, autocomplete, previews, downloads, MCP)."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from serverutil import ALICE_WORD, PASSWORD, LiveServer, build_team_home


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    home, root = build_team_home(tmp_path_factory.mktemp("srv"))
    with LiveServer(home) as s:
        acc = s.state.accounts
        s.tokens = {name: acc.create_token(name, "test") for name in ("admin", "alice", "bob")}
        s.root = root
        yield s


def client(srv, user: str | None = None) -> httpx.Client:
    headers = {"authorization": f"Bearer {srv.tokens[user]}"} if user else {}
    return httpx.Client(base_url=srv.url, headers=headers, timeout=30)


def mcp_call(c: httpx.Client, tool: str, args: dict) -> httpx.Response:
    return c.post("/mcp/", json={"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                 "params": {"name": tool, "arguments": args}},
                  headers={"accept": "application/json, text/event-stream"})


def doc_ids(srv, user: str, q: str) -> dict[str, str]:
    with client(srv, user) as c:
        r = c.get("/api/search", params={"q": q, "limit": 50, "mode": "keyword"})
    assert r.status_code == 200, r.text
    return {h["title"]: h["id"] for h in r.json()["results"]}


def test_openapi_and_web_app_are_served(srv):
    with client(srv) as c:
        spec = c.get("/api/openapi.json").json()
        assert {"/api/search", "/api/documents/{doc_id}", "/api/autocomplete", "/api/status"} <= set(spec["paths"])
        page = c.get("/")
        assert page.status_code == 200 and "Spyglass" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert c.get("/healthz").json() == {"status": "ok"}


def test_anonymous_callers_get_401_everywhere(srv):
    with client(srv) as c:
        for path in ("/api/search?q=zebra", "/api/autocomplete?q=zeb", "/api/status", "/api/me", "/api/tokens"):
            assert c.get(path).status_code == 401, path
        bad = httpx.Client(base_url=srv.url, headers={"authorization": "Bearer sg_forged"})
        assert bad.get("/api/search?q=zebra").status_code == 401
        assert mcp_call(c, "search", {"query": "zebra"}).status_code == 401


def test_each_user_sees_their_own_documents(srv):
    alice = doc_ids(srv, "alice", "zebra")
    bob = doc_ids(srv, "bob", "zebra")
    assert "alice-diary.txt" in alice and "bob-draft.txt" not in alice
    assert "bob-draft.txt" in bob and "alice-diary.txt" not in bob
    assert "public-plan.txt" in alice and "public-plan.txt" in bob
    # mail is readable by its sender and recipients
    assert any("Budget" in t for t in doc_ids(srv, "alice", ALICE_WORD))


@pytest.mark.parametrize("mode", ["keyword", "semantic", "hybrid"])
def test_another_users_word_appears_nowhere_in_search(srv, mode):
    with client(srv, "bob") as c:
        for q in (ALICE_WORD, "zebra", "xylophonequarts", "salary diary", "budget review approved"):
            r = c.get("/api/search", params={"q": q, "mode": mode, "facets": "true", "limit": 100})
            assert r.status_code == 200, r.text
            got = r.json()
            assert set(got["fuzzy"]) <= set(q.split())  # only the caller's own words, as typed
            body = json.dumps({k: v for k, v in got.items() if k not in ("query", "fuzzy")})  # both echo the query
            assert ALICE_WORD not in body.lower(), (q, mode)
            assert "alice-diary" not in body and "alice@example.com" not in body
        r = c.get("/api/search", params={"q": ALICE_WORD, "mode": "keyword", "facets": "true"}).json()
        assert r["total"] == 0 and all(not rows for rows in r["facets"].values())


def test_facets_count_only_readable_documents(srv):
    with client(srv, "bob") as c:
        r = c.get("/api/search", params={"q": "zebra", "facets": "true", "mode": "keyword"}).json()
    assert r["total"] == len(r["results"]) == 3  # public plan, handbook, bob's draft; not alice's diary or mail
    assert sum(f["count"] for f in r["facets"]["type"]) == r["total"]


def test_autocomplete_never_suggests_unreadable_documents(srv):
    with client(srv, "bob") as c:
        for q in ("xylo", "alice", "budg", "zeb"):
            r = c.get("/api/autocomplete", params={"q": q})
            assert r.status_code == 200
            assert ALICE_WORD not in r.text and "alice-diary" not in r.text and "Budget" not in r.text, q
    with client(srv, "alice") as c:
        titles = [s["title"] for s in c.get("/api/autocomplete", params={"q": "xylo"}).json()["suggestions"]]
    assert "alice-diary.txt" in titles


def test_previews_and_downloads_are_checked_per_document(srv):
    ids = doc_ids(srv, "alice", "zebra")
    diary = ids["alice-diary.txt"]
    with client(srv, "alice") as c:
        d = c.get(f"/api/documents/{diary}").json()
        assert ALICE_WORD in d["passages"][0]["text"] and "file" not in d
        f = c.get(f"/api/documents/{diary}/file")
        assert f.status_code == 200 and ALICE_WORD in f.text
        assert "sandbox" in f.headers["content-security-policy"]
    with client(srv, "bob") as c:
        for path in (f"/api/documents/{diary}", f"/api/documents/{diary}/file"):
            r = c.get(path)
            assert r.status_code == 404 and ALICE_WORD not in r.text
        # an unknown id reads the same as a forbidden one
        assert c.get("/api/documents/0123456789abcdef").json()["detail"].startswith("no document")
        for bad in ("../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "%00", "x" * 300):
            assert c.get(f"/api/documents/{bad}").status_code in (404, 422)


def test_mcp_tools_run_with_the_token_holders_permissions(srv):
    diary = doc_ids(srv, "alice", "zebra")["alice-diary.txt"]
    with client(srv, "bob") as c:
        listed = c.post("/mcp/", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
                        headers={"accept": "application/json, text/event-stream"}).json()
        assert {"search", "fetch_document", "ask"} <= {t["name"] for t in listed["result"]["tools"]}
        r = mcp_call(c, "search", {"query": "zebra project"})
        assert r.status_code == 200 and ALICE_WORD not in r.text and "bob-draft" in r.text
        r = mcp_call(c, "search", {"query": ALICE_WORD, "mode": "keyword"})
        assert json.loads(r.text)["result"]["structuredContent"]["total"] == 0
        r = mcp_call(c, "fetch_document", {"id": diary})
        assert ALICE_WORD not in r.text and json.loads(r.text)["result"]["isError"] is True
    with client(srv, "alice") as c:
        r = mcp_call(c, "fetch_document", {"id": diary})
        assert ALICE_WORD in r.text


def test_answers_and_their_citations_hold_only_readable_passages(srv):
    q = f"What is the {ALICE_WORD} idea and its budget?"
    with client(srv, "bob") as c:
        a = c.get("/api/ask", params={"q": q})
        assert a.status_code == 200
        body = json.dumps({k: v for k, v in a.json().items() if k != "question"})
        assert ALICE_WORD not in body and "alice-diary" not in body
        stream = c.get("/api/ask/stream", params={"q": q})
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = [line[7:] for line in stream.text.splitlines() if line.startswith("event: ")]
        assert events[0] == "sources" and events[-1] == "answer"
        assert ALICE_WORD not in stream.text.replace(q, "").replace(json.dumps(q)[1:-1], "")
        r = mcp_call(c, "ask", {"question": q})
        assert r.status_code == 200 and ALICE_WORD not in r.text.replace(q, "")
    with client(srv, "alice") as c:
        a = c.get("/api/ask", params={"q": f"What did carol say about the {ALICE_WORD} budget?"}).json()
        assert a["found"] and any(ALICE_WORD in x["snippet"] for x in a["citations"])
        diary = doc_ids(srv, "alice", "zebra")["alice-diary.txt"]
        summ = c.get(f"/api/summarize/{diary}").json()
        assert ALICE_WORD in summ["summary"]
    with client(srv, "bob") as c:
        assert c.get(f"/api/summarize/{diary}").status_code == 404


def test_roles_and_sessions(srv):
    with client(srv, "bob") as c:
        assert c.get("/api/users").status_code == 403
        assert c.post("/api/reindex").status_code == 403
        assert c.get("/api/sources").status_code == 403
        assert "sources" not in c.get("/api/status").json()
    with client(srv, "admin") as c:
        assert {u["name"] for u in c.get("/api/users").json()["users"]} >= {"admin", "alice", "bob"}
        assert c.get("/api/sources").json()["sources"][0]["root"] == str(srv.root)
        # admins manage, but read only what their own principals allow
        assert ALICE_WORD not in json.dumps(c.get("/api/search", params={"q": ALICE_WORD}).json()["results"])
    with httpx.Client(base_url=srv.url) as web:
        assert web.post("/api/login", json={"user": "bob", "password": "wrong"}).status_code == 401
        assert web.post("/api/login", json={"user": "nobody", "password": "wrong"}).status_code == 401
        r = web.post("/api/login", json={"user": "bob", "password": PASSWORD})
        assert r.status_code == 200
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        csrf = r.json()["csrf"]
        assert web.get("/api/me").json()["user"]["name"] == "bob"
        assert web.post("/api/tokens", json={"label": "x"}).status_code == 403  # cookie without CSRF header
        tok = web.post("/api/tokens", json={"label": "x"}, headers={"x-csrf-token": csrf})
        assert tok.status_code == 201 and tok.json()["token"].startswith("sg_")
        assert web.post("/api/logout", json={}, headers={"x-csrf-token": csrf}).status_code == 200
        assert web.get("/api/me").status_code == 401


def test_token_revocation(srv):
    acc = srv.state.accounts
    tok = acc.create_token("bob", "temp")
    with httpx.Client(base_url=srv.url, headers={"authorization": f"Bearer {tok}"}) as c:
        assert c.get("/api/me").status_code == 200
        mine = [t for t in c.get("/api/tokens").json()["tokens"] if t["label"] == "temp"]
        assert c.delete(f"/api/tokens/{mine[0]['id']}").status_code == 200
        assert c.get("/api/me").status_code == 401


def test_oversized_and_malformed_input_gets_4xx(srv):
    with client(srv, "bob") as c:
        assert c.get("/api/search", params={"q": "x" * 5000}).status_code == 422
        assert c.get("/api/search", params={"q": "zebra", "limit": 100000}).status_code == 422
        assert c.get("/api/search", params={"q": 'unclosed "phrase AND ('}).status_code in (200, 400)
        assert c.get("/api/search", params={"q": "zebra", "after": "not-a-date"}).status_code == 400
        big = c.post("/api/tokens", content=b"{" + b" " * (2 * 1024 * 1024) + b"}",
                     headers={"content-type": "application/json"})
        assert big.status_code == 413
        assert c.get("/api/ask", params={"q": ""}).status_code == 422
        assert c.get("/api/related/0123456789abcdef").status_code == 404  # unknown and forbidden look the same
        assert c.get("/api/related/not-an-id").status_code == 404


def test_free_text_queries_never_get_a_server_error(srv):
    """Property test: free text in the query language (fields, filters with huge or odd values, operators, quotes,
    any unicode) is answered 200 or a 400 with a message, never a 5xx, in every mode and with facets."""
    from hypothesis import HealthCheck, given, settings

    from query_strategy import query_text

    c = client(srv, "bob")

    @settings(max_examples=150, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(q=query_text())
    def check(q: str) -> None:
        for mode in ("keyword", "hybrid"):
            r = c.get("/api/search", params={"q": q, "mode": mode, "facets": "true"})
            assert r.status_code in (200, 400), (q, mode, r.status_code, r.text[:300])
            if r.status_code == 400:
                assert r.json()["detail"]
        r = c.get("/api/autocomplete", params={"q": q[:200]})
        assert r.status_code in (200, 400), (q, r.status_code)

    try:
        check()
    finally:
        c.close()


def test_rate_limit_answers_429(tmp_path):
    from serverutil import build_team_home as build

    home, _ = build(tmp_path, embeddings=False)
    (home / "config.toml").write_text("[embedding]\nenabled = false\n[server]\nrate_per_s = 1.0\nrate_burst = 5\n")
    with LiveServer(home) as s:
        tok = s.state.accounts.create_token("bob")
        with httpx.Client(base_url=s.url, headers={"authorization": f"Bearer {tok}"}) as c:
            codes = [c.get("/api/me").status_code for _ in range(12)]
    assert codes[:5] == [200] * 5 and 429 in codes[5:]


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("role", ["member", "admin"])
def test_schemathesis_finds_no_server_errors(tmp_path, role):
    """Property-based requests generated from the OpenAPI document (schemathesis); no response may be a 5xx."""
    import os
    import shutil
    import subprocess
    import sys

    st = shutil.which("schemathesis", path=os.path.dirname(sys.executable))
    if st is None:
        pytest.skip("schemathesis is not installed (the test extra installs it)")
    home, _ = build_team_home(tmp_path, embeddings=False)
    with LiveServer(home) as s:
        tok = s.state.accounts.create_token("admin" if role == "admin" else "bob")
        cmd = [st, "run", f"{s.url}/api/openapi.json", "--checks", "not_a_server_error", "-H",
               f"Authorization: Bearer {tok}", "--max-examples", "30", "--seed", "7", "--workers", "1",
               "--generation-deterministic",
               # starting index jobs over arbitrary server paths is not a property test's business
               "--exclude-path", "/api/sources", "--exclude-path", "/api/reindex"]
        # q= parameters (format spyglass-query) are generated as free text in the query language
        env = {**os.environ, "SCHEMATHESIS_HOOKS": "schemathesis_hooks",
               "PYTHONPATH": os.pathsep.join([os.path.dirname(__file__), os.environ.get("PYTHONPATH", "")])}
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=800, env=env)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]


def test_organize_paths_never_show_another_users_files(srv):
    ids = doc_ids(srv, "alice", "zebra")
    diary = ids["alice-diary.txt"]
    with client(srv, "admin") as c:
        assert c.post("/api/topics/rebuild").status_code == 200
    with client(srv, "alice") as c:
        assert c.post(f"/api/documents/{diary}/tags", json={"tag": ALICE_WORD}).status_code == 201
        assert c.post("/api/topics/rebuild").status_code == 403  # members cannot re-cluster
        assert ALICE_WORD in c.get(f"/api/documents/{diary}/tags").text
        alice_sizes = sum(t["size"] for t in c.get("/api/topics").json()["topics"])
    with client(srv, "bob") as c:
        for path in ("/api/duplicates", "/api/topics"):
            r = c.get(path)
            assert r.status_code == 200, (path, r.text)
            assert ALICE_WORD not in r.text and "alice-diary" not in r.text, path
        for path in ("tags", "tag-suggestions", "where", "similar"):
            r = c.get(f"/api/documents/{diary}/{path}")
            assert r.status_code == 404 and ALICE_WORD not in r.text, path
        assert sum(t["size"] for t in c.get("/api/topics").json()["topics"]) < alice_sizes + 2
        assert c.post(f"/api/documents/{diary}/tags", json={"tag": "x"}).status_code == 404
        assert c.delete(f"/api/documents/{diary}/tags/{ALICE_WORD}").status_code == 404
        r = c.get("/api/search", params={"q": f"tag:{ALICE_WORD}", "mode": "keyword"})
        assert r.json()["total"] == 0
        bob_doc = doc_ids(srv, "bob", "zebra")["bob-draft.txt"]
        for path in ("tag-suggestions", "where"):
            r = c.get(f"/api/documents/{bob_doc}/{path}")
            assert r.status_code == 200 and ALICE_WORD not in r.text and "alice-diary" not in r.text, path


def test_activity_suggest_and_related_never_cross_users(srv):
    ids = doc_ids(srv, "alice", "zebra")
    diary, plan = ids["alice-diary.txt"], ids["public-plan.txt"]
    with client(srv, "alice") as c:
        s = c.get("/api/search", params={"q": "zebra", "mode": "keyword"}).json()
        pos = [r["id"] for r in s["results"]].index(diary) + 1
        for doc, p in ((diary, pos), (plan, None)):
            r = c.post("/api/activity", json={"kind": "open", "doc_id": doc, "search_id": s["search_id"], "position": p})
            assert r.status_code == 201, r.text
        assert diary in [x["id"] for x in c.get("/api/suggest").json()["suggestions"]]
    with client(srv, "bob") as c:
        bob_search = c.get("/api/search", params={"q": "zebra", "mode": "keyword"}).json()["search_id"]
        # bob opens the public plan too: alice's diary is co-accessed with it, but bob must never see it
        c.post("/api/activity", json={"kind": "open", "doc_id": plan, "search_id": bob_search})
        for path in ("/api/suggest", f"/api/related/{plan}"):
            r = c.get(path)
            assert r.status_code == 200, (path, r.text)
            assert diary not in r.text and ALICE_WORD not in r.text and "alice-diary" not in r.text, path
        assert c.get(f"/api/related/{diary}").status_code == 404
        r = c.post("/api/activity", json={"kind": "click", "doc_id": diary})
        assert r.status_code == 404 and ALICE_WORD not in r.text
        # another user's search id is not trusted: the event is recorded without it
        assert c.post("/api/activity", json={"kind": "click", "doc_id": plan, "search_id": s["search_id"],
                                             "position": 1}).status_code == 201
        for bad in ({"kind": "delete", "doc_id": plan}, {"kind": "open", "doc_id": "../etc"},
                    {"kind": "dwell", "doc_id": plan, "dwell_s": -1}):
            assert c.post("/api/activity", json=bad).status_code == 422


def test_organize_plans_are_reviewed_and_applied_by_admins_only(tmp_path):
    """The web app's plan review over HTTP: an admin makes a plan (over files the admin may read), keeps some actions,
    applies them with the journal, and undoes them; members get 403; plan ids cannot reach outside the plans."""
    import os

    from spyglass.app.spyglass import Spyglass
    from serverutil import ALICE_GID

    home, root = build_team_home(tmp_path, embeddings=False)
    text = "Minutes of the steering group: the zebra project budget is approved for next year."
    (root / "minutes.txt").write_text(text)
    (root / "minutes-copy.txt").write_text(text)
    for name in ("secret.txt", "secret-copy.txt"):  # alice's group only: the admin's plan must not see them
        (root / name).write_text(f"{ALICE_WORD} private duplicate")
        os.chown(root / name, 0, ALICE_GID)
        (root / name).chmod(0o640)
    sg = Spyglass(home)
    sg.index()
    sg.close_all()
    with LiveServer(home) as s:
        tok = {u: s.state.accounts.create_token(u, "t") for u in ("admin", "alice")}
        admin = httpx.Client(base_url=s.url, headers={"authorization": f"Bearer {tok['admin']}"}, timeout=60)
        alice = httpx.Client(base_url=s.url, headers={"authorization": f"Bearer {tok['alice']}"}, timeout=60)
        assert alice.post("/api/organize/plans", json={}).status_code == 403
        assert alice.get("/api/organize/plans").status_code == 403
        r = admin.post("/api/organize/plans", json={"tags": False})
        assert r.status_code == 202, r.text  # a job: a large collection takes minutes
        job = r.json()
        deadline = time.time() + 60
        while job["state"] not in ("done", "failed") and time.time() < deadline:
            time.sleep(0.1)
            job = admin.get(f"/api/jobs/{job['id']}").json()
        assert job["state"] == "done", job
        r = admin.get(f"/api/organize/plans/{job['result']['plan_id']}")
        plan = r.json()
        assert job["result"]["actions"] == len(plan["actions"])
        assert ALICE_WORD not in r.text and "secret" not in r.text
        moves = [a for a in plan["actions"] if a["op"] == "move" and "minutes" in a["path"]]
        assert len(moves) == 1 and "_spyglass_duplicates" in moves[0]["to"]
        assert [p["id"] for p in admin.get("/api/organize/plans").json()["plans"]] == [plan["id"]]
        for bad in ("..%2F..%2Fconfig", "20260101-000000-zzzz", "x"):
            assert admin.get(f"/api/organize/plans/{bad}").status_code == 404, bad
        assert alice.post(f"/api/organize/plans/{plan['id']}/apply", json={"keep": []}).status_code == 403
        assert admin.post(f"/api/organize/plans/{plan['id']}/apply", json={"keep": [999]}).status_code == 400  # a bad request: one status per error kind
        src = moves[0]["path"]
        r = admin.post(f"/api/organize/plans/{plan['id']}/apply", json={"keep": [moves[0]["n"]]})
        assert r.status_code == 200 and r.json()["done"] == 1, r.text
        assert not os.path.exists(src) and os.path.exists(moves[0]["to"])
        assert admin.get(f"/api/organize/plans/{plan['id']}").json()["applied"]["plan"] == plan["id"]
        r = admin.post(f"/api/organize/plans/{plan['id']}/undo")
        assert r.status_code == 200 and r.json()["undone"] == 1
        assert os.path.exists(src) and not os.path.exists(moves[0]["to"])
        admin.close()
        alice.close()


def test_accounts_serve_many_request_threads_at_once(tmp_path):
    """The server resolves tokens and sessions from a thread pool on one shared connection. Unserialised, concurrent
    reads and writes failed with "no more rows available" (a 500) under the load test; this exercises the same paths
    from many threads (the race itself is rare outside a real server, so the load test remains its real check)."""
    import threading

    from spyglass.app.accounts import Accounts

    acc = Accounts(tmp_path)
    acc.add_user("u", "member", PASSWORD)
    tokens = [acc.create_token("u", f"t{i}") for i in range(16)]
    errors: list[BaseException] = []

    def hammer(tok: str) -> None:
        try:
            for i in range(400):
                assert acc.user_for_token(tok).name == "u"
                if i % 5 == 0:
                    sid, _ = acc.create_session("u", 60)
                    assert acc.session(sid)[0].name == "u"
                    acc.db.execute("UPDATE tokens SET last_used = 0")  # force the "last used" write path
        except BaseException as exc:  # noqa: BLE001 (collected and asserted below)
            errors.append(exc)

    threads = [threading.Thread(target=hammer, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    acc.close()
    assert not errors, errors[:3]


def test_recording_hits_carry_their_time_offset_for_the_player():
    from spyglass.server.api import _offset

    assert _offset("@ 12:31") == 751.0 and _offset("@ 1:02:05") == 3725.0 and _offset("@ 0:00") == 0.0
    assert _offset("page 3") is None and _offset(None) is None and _offset("@ x:1") is None


def test_searches_never_fail_while_an_index_run_holds_the_writer(tmp_path):
    """Issue 14.5: `spyglass search` and /api/search while `spyglass index` runs in another process (holding the write
    lock and the catalog's write transactions): every search answers, and its activity-log row is written later by
    the background writer rather than on the search's path."""
    import os
    import random
    import subprocess
    import sys
    import time
    from pathlib import Path

    from spyglass.app.spyglass import Spyglass

    home, root = build_team_home(tmp_path, embeddings=False)
    big = root / "bulk"
    big.mkdir()
    rng = random.Random(3)
    words = [f"w{i}" for i in range(500)]
    for i in range(1500):
        (big / f"f{i:04d}.md").write_text(f"# Note {i}\n\nzebra{i % 7} " + " ".join(rng.choices(words, k=300)))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    cli = [sys.executable, "-m", "spyglass"]
    with LiveServer(home) as s:
        tok = s.state.accounts.create_token("bob", "t")
        index = subprocess.Popen([*cli, "index", str(root), "--home", str(home), "--json"], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            while not (home / "write.lock").exists() or index.poll() is not None:
                time.sleep(0.05)
                assert index.poll() is None, "the index run ended before the searches"
            searched = 0
            with httpx.Client(base_url=s.url, headers={"authorization": f"Bearer {tok}"}, timeout=60) as c:
                while index.poll() is None and searched < 12:
                    r = c.get("/api/search", params={"q": "zebra handbook", "mode": "keyword"})
                    assert r.status_code == 200, r.text
                    if searched % 4 == 0:
                        out = subprocess.run([*cli, "search", "zebra", "--home", str(home), "--json"], check=False, env=env,
                                             capture_output=True, text=True, timeout=60)
                        assert out.returncode == 0 and "locked" not in out.stderr, out.stderr[-2000:]
                        assert json.loads(out.stdout)["results"]
                    searched += 1
            assert searched >= 4, "the index run was too short to search during it"
        finally:
            assert index.wait(300) == 0, index.stderr.read().decode()[-2000:]
    sg = Spyglass(home)
    try:
        assert sg.activity().counts("bob")["searches"] >= searched  # written once the writer was free
    finally:
        sg.close_all()


def test_the_allowed_vector_keys_follow_the_catalog(tmp_path):
    """The semantic retriever keeps the allowed-key set per principals; a commit from another connection (an index
    run taking a reader off a document's ACL) must make it recompute: the document disappears at once."""
    import sqlite3

    from spyglass.app.spyglass import Spyglass

    home, _ = build_team_home(tmp_path, embeddings=True)
    reader = Spyglass(home)
    bob = reader.principals_for("bob")
    try:
        plan = [h for h in reader.search("zebra project", mode="semantic", principals=bob).hits
                if h.path.endswith("public-plan.txt")]
        assert plan
        db = sqlite3.connect(home / "catalog.sqlite3")  # what an index run does when the file's mode narrows
        db.execute("DELETE FROM acl WHERE item_id = ? AND principal = 'everyone'", (plan[0].id,))
        db.commit()
        db.close()
        hits = reader.search("zebra project", mode="semantic", principals=bob).hits
        assert not any(h.path.endswith("public-plan.txt") for h in hits)
    finally:
        reader.close_all()


def test_server_workers_keep_the_query_embedder_from_spinning(tmp_path):
    """A spinning onnxruntime embedder takes the CPU other requests wait for: in a server worker ``[server]
    model_spinning`` (off by default) decides, whatever ``[embedding] spinning`` says for indexing."""
    from spyglass.core.config import Config, load_config
    from spyglass.server.state import serving_config

    (tmp_path / "config.toml").write_text("[embedding]\nspinning = true\n")
    assert load_config(tmp_path / "config.toml").embedding.spinning
    assert serving_config(tmp_path, None).embedding.spinning is False
    cfg = Config()
    cfg.server.model_spinning = True
    served = serving_config(tmp_path, cfg)
    assert served.embedding.spinning is True and served.server is cfg.server
    assert cfg.embedding.spinning is True  # the caller's configuration is not changed
