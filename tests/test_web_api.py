"""The web app's own endpoints (server/web_api.py) over HTTP against a live server: recent files, thumbnails (made
once, kept private, permission-checked, refused for a swapped file), forgetting a session; and the autocomplete
order (titles before hash-named data files)."""

from __future__ import annotations

import io
import os
import stat

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")

from serverutil import ALICE_WORD, BOB_WORD, LiveServer  # noqa: E402
from webutil import HASH_NAMES, build_web_home, photo  # noqa: E402


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    home, root = build_web_home(tmp_path_factory.mktemp("webapi"))
    with LiveServer(home) as s:
        s.root = root
        s.tokens = {u: s.state.accounts.create_token(u, "t") for u in ("admin", "alice", "bob")}
        yield s


def client(srv, user: str | None = None) -> httpx.Client:
    headers = {"authorization": f"Bearer {srv.tokens[user]}"} if user else {}
    return httpx.Client(base_url=srv.url, headers=headers, timeout=60)


def doc_id(srv, name: str) -> str:
    import sqlite3

    with sqlite3.connect(srv.state.home / "catalog.sqlite3") as db:
        return db.execute("SELECT id FROM items WHERE name = ?", (name,)).fetchone()[0]


def test_recent_lists_only_readable_items_newest_first(srv):
    with client(srv, "alice") as alice, client(srv, "bob") as bob:
        mine = alice.get("/api/recent", params={"limit": 100}).json()["files"]
        theirs = bob.get("/api/recent", params={"limit": 100}).json()["files"]
        assert alice.get("/api/recent", params={"limit": 0}).status_code == 422
    names = {f["name"] for f in mine}
    assert {"alice-diary.txt", "alice-photo.png", "public-plan.txt"} <= names and "bob-draft.txt" not in names
    assert any(ALICE_WORD in f["title"] for f in mine)  # her mail message is listed, not the mailbox holding it
    assert "mail.mbox" not in names
    bob_text = str(theirs)
    assert "alice-diary" not in bob_text and ALICE_WORD not in bob_text and "alice-photo" not in bob_text
    assert "bob-draft.txt" in bob_text
    times = [f["modified"] for f in mine]
    assert times == sorted(times, reverse=True)
    by_name = {f["name"]: f for f in mine}
    assert by_name["harbour-photo.png"]["thumbnail"] and by_name["ferry-timetable.pdf"]["thumbnail"]
    assert not by_name["public-plan.txt"]["thumbnail"]


def test_thumbnails_of_images_and_pdf_first_pages_are_made_once_and_kept_private(srv):
    from PIL import Image

    cache = srv.state.home / "thumbnails"
    with client(srv, "alice") as c:
        for name, size in (("harbour-photo.png", 160), ("ferry-timetable.pdf", 320)):
            iid = doc_id(srv, name)
            r = c.get(f"/api/documents/{iid}/thumbnail", params={"size": size})
            assert r.status_code == 200 and r.headers["content-type"] == "image/webp", r.text
            assert "private" in r.headers["cache-control"]
            im = Image.open(io.BytesIO(r.content))
            assert im.format == "WEBP" and max(im.size) == size
            kept = list(cache.glob(f"{iid}-*-{size}.webp"))
            assert len(kept) == 1 and stat.S_IMODE(kept[0].stat().st_mode) == 0o600
            made = kept[0].stat().st_mtime_ns
            again = c.get(f"/api/documents/{iid}/thumbnail", params={"size": size})
            assert again.content == r.content and kept[0].stat().st_mtime_ns == made  # not rendered twice
            etag = r.headers["etag"]
            assert c.get(f"/api/documents/{iid}/thumbnail", params={"size": size},
                         headers={"if-none-match": etag}).status_code == 304
        pdf_thumb = Image.open(io.BytesIO(c.get(f"/api/documents/{doc_id(srv, 'ferry-timetable.pdf')}/thumbnail",
                                                params={"size": 320}).content)).convert("L")
        assert pdf_thumb.getextrema()[0] < 100  # the title's dark ink is on the page
        text = doc_id(srv, "public-plan.txt")
        assert c.get(f"/api/documents/{text}/thumbnail").status_code == 404
        assert c.get(f"/api/documents/{doc_id(srv, 'harbour-photo.png')}/thumbnail",
                     params={"size": 4000}).status_code == 422
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700


def test_thumbnails_are_checked_like_downloads(srv):
    secret = doc_id(srv, "alice-photo.png")
    with client(srv, "bob") as bob, client(srv, "alice") as alice, client(srv) as anon:
        assert anon.get(f"/api/documents/{secret}/thumbnail").status_code == 401
        forbidden = bob.get(f"/api/documents/{secret}/thumbnail")
        unknown = bob.get("/api/documents/0123456789abcdef/thumbnail")
        assert forbidden.status_code == unknown.status_code == 404
        same = unknown.json()["detail"].replace("0123456789abcdef", "X")
        assert forbidden.json()["detail"].replace(secret, "X") == same
        assert alice.get(f"/api/documents/{secret}/thumbnail").status_code == 200
        etag = alice.get(f"/api/documents/{secret}/thumbnail").headers["etag"]
        assert bob.get(f"/api/documents/{secret}/thumbnail", headers={"if-none-match": etag}).status_code == 404
        for bad in ("..%2F..%2Fcatalog.sqlite3", "x" * 16, "ABCDEF0123456789"):
            assert bob.get(f"/api/documents/{bad}/thumbnail").status_code == 404


def test_a_file_swapped_after_indexing_gets_no_thumbnail(srv):
    """The attack of 13.1 on thumbnails: a member who can write into an indexed folder replaces an indexed picture
    with a symlink to one they may not read, or with other content; the thumbnail must not show it."""
    iid = doc_id(srv, "swap-me.png")
    public = srv.root / "swap-me.png"
    public.unlink()
    os.symlink(srv.root / "alice-photo.png", public)  # alice's red photo, which bob may not read
    with client(srv, "bob") as c:
        r = c.get(f"/api/documents/{iid}/thumbnail")
        assert r.status_code == 404 and "changed since it was indexed" in r.json()["detail"], r.text
        public.unlink()
        photo(public, (0, 200, 0))  # new content, not indexed yet
        r = c.get(f"/api/documents/{iid}/thumbnail")
        assert r.status_code == 404 and "changed since it was indexed" in r.json()["detail"], r.text
    assert not list((srv.state.home / "thumbnails").glob(f"{iid}-*"))  # nothing kept of either


def test_forget_clears_the_site_data_and_needs_its_header(srv):
    with client(srv) as anon:
        r = anon.post("/api/forget", headers={"x-spyglass-forget": "1"})
        assert r.status_code == 204 and r.headers["clear-site-data"] == '"cache", "storage"'
        assert anon.post("/api/forget").status_code == 400


def test_autocomplete_puts_titles_before_hash_named_data_files(srv):
    with client(srv, "bob") as c:
        got = c.get("/api/autocomplete", params={"q": "miles", "limit": 5}).json()["suggestions"]
        assert got and got[0]["title"] == "Harbour office plans", got
        assert all(s["title"] in HASH_NAMES for s in got[1:])
        assert BOB_WORD not in str(c.get("/api/autocomplete", params={"q": "xylo"}).json())


@pytest.mark.parametrize("name, hashed", [
    ("659daefa21dd8c9054b084b6.json", True), ("1099442333440802930.json", True), ("21be155fb0c95885.eml.json", True),
    ("3f2504e0-4f89-11d3-9a0c-0305e82c3301.txt", True), ("aZ3kQ9xP2mL7vB4nW8.bin", True),
    ("deadbeef.txt", False), ("20240101.txt", False), ("IMG_2041.jpg", False), ("Quarterly report.pdf", False),
    ("team-handbook.txt", False), ("notes", False), ("", False),
])
def test_hash_names(name, hashed):
    from spyglass.server.autocomplete_order import is_hash_name

    assert is_hash_name(name) is hashed


def test_prefer_titles_keeps_the_search_order_within_each_group():
    from spyglass.server.autocomplete_order import prefer_titles

    s = [{"title": "659daefa21dd8c9054b084b6.json", "path": "/d/659daefa21dd8c9054b084b6.json"},
         {"title": "notes.txt", "path": "/d/notes.txt"},
         {"title": "Re: budget", "path": "/d/21be155fb0c95885.eml"},  # a hash-named mail with a subject: titled
         {"title": "1099442333440802930.json", "path": "/d/1099442333440802930.json"},
         {"title": "Harbour plans", "path": "/d/plans.md"},
         {"title": "plan.txt", "path": "/d/plan.txt"}]
    assert [x["title"] for x in prefer_titles(s)] == [
        "Re: budget", "Harbour plans", "notes.txt", "plan.txt", "659daefa21dd8c9054b084b6.json",
        "1099442333440802930.json"]
    assert prefer_titles([]) == []
