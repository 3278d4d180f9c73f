"""Attacks on authentication and on the server's capacity (issue 13.7, 13.8), over real HTTP."""

from __future__ import annotations

import secrets
import threading
import time

import httpx
import pytest

from serverutil import PASSWORD, LiveServer, build_team_home


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    """A server with a small rate (2/s, burst 10) and small login back-off, as a hostile client meets it."""
    home, _ = build_team_home(tmp_path_factory.mktemp("abuse"), embeddings=False)
    (home / "config.toml").write_text("[embedding]\nenabled = false\n[server]\nrate_per_s = 2.0\nrate_burst = 10\n")
    with LiveServer(home) as s:
        s.token = s.state.accounts.create_token("bob", "t")
        yield s


@pytest.fixture(scope="module")
def roomy(tmp_path_factory):
    """A server whose request rate limit is far away, so only the login back-off can answer 429."""
    home, _ = build_team_home(tmp_path_factory.mktemp("login"), embeddings=False)
    with LiveServer(home) as s:
        yield s


def test_password_guessing_meets_429_and_a_back_off(roomy):
    codes = []
    with httpx.Client(base_url=roomy.url, timeout=30) as c:
        for i in range(40):
            codes.append(c.post("/api/login", json={"user": "alice", "password": f"guess{i}"}).status_code)
        assert codes.count(401) <= 6, codes  # a handful of guesses, then the back-off answers
        assert 429 in codes
        r = c.post("/api/login", json={"user": "alice", "password": PASSWORD})
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1  # locked: even the right one waits


def test_bogus_credentials_share_their_address_bucket(limited):
    """A fresh random bearer token or cookie per request must not buy a fresh rate-limit bucket."""
    with httpx.Client(base_url=limited.url, headers={"authorization": f"Bearer {limited.token}"}) as good:
        assert good.get("/api/me").status_code == 200  # known from now on: its own bucket
        time.sleep(6)  # the address bucket refills
        codes = []
        t0 = time.monotonic()
        for i in range(40):
            creds = ({"headers": {"authorization": f"Bearer sg_{secrets.token_urlsafe(32)}"}} if i % 2 else
                     {"cookies": {"spyglass_session": secrets.token_urlsafe(32)}})
            with httpx.Client(base_url=limited.url, **creds) as c:
                codes.append(c.get("/api/me").status_code)
        allowed = 10 + 2.0 * (time.monotonic() - t0)  # the address's burst plus its rate, not one bucket each
        assert 429 in codes and codes.count(401) <= allowed + 1, (codes, allowed)
        assert good.get("/api/me").status_code == 200  # an authenticated caller is not starved by the flood


@pytest.fixture(scope="module")
def slow(tmp_path_factory):
    """A server with a short time limit and a large file whose summary takes far longer than it."""
    import random

    tmp = tmp_path_factory.mktemp("slow")
    home, root = build_team_home(tmp, embeddings=False)
    rng = random.Random(5)
    words = [f"w{rng.randrange(10**6)}" for _ in range(60_000)]
    with open(root / "big.txt", "w") as fh:
        for i in range(40_000):
            fh.write(" ".join(rng.choice(words) for _ in range(12)).capitalize() + ". ")
            if i % 8 == 7:
                fh.write("\n\n")
    from spyglass.app.spyglass import Spyglass

    sg = Spyglass(home)
    sg.index()
    sg.close_all()
    (home / "config.toml").write_text("[embedding]\nenabled = false\n[server]\nrate_per_s = 1000.0\n"
                                      "rate_burst = 1000\ntimeout_s = 2.0\nreaders = 3\n")
    with LiveServer(home) as s:
        s.tokens = {u: s.state.accounts.create_token(u, "t") for u in ("alice", "bob")}
        with httpx.Client(base_url=s.url, headers={"authorization": f"Bearer {s.tokens['alice']}"}) as c:
            hits = c.get("/api/search", params={"q": "w1*", "mode": "keyword", "limit": 50}).json()["results"]
        s.big = next(h["id"] for h in hits if h["path"].endswith("big.txt"))
        yield s


def test_a_timed_out_request_stops_its_work_and_one_user_cannot_starve_others(slow):
    codes: list[int] = []

    def summarize() -> None:
        with httpx.Client(base_url=slow.url, headers={"authorization": f"Bearer {slow.tokens['alice']}"},
                          timeout=120) as c:
            codes.append(c.get(f"/api/summarize/{slow.big}").status_code)

    threads = [threading.Thread(target=summarize) for _ in range(6)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    with httpx.Client(base_url=slow.url, headers={"authorization": f"Bearer {slow.tokens['bob']}"},
                      timeout=120) as bob:
        t0 = time.perf_counter()
        r = bob.get("/api/search", params={"q": "zebra", "mode": "keyword"})
        assert r.status_code == 200 and time.perf_counter() - t0 < 2.0  # a reader was left for bob
    for t in threads:
        t.join()
    assert codes and set(codes) <= {504, 429}, codes
    # the work stopped with the requests: every read handle is back within moments
    deadline = time.time() + 3
    while slow.state.pool._free.qsize() < 3 and time.time() < deadline:
        time.sleep(0.05)
    assert slow.state.pool._free.qsize() == 3
