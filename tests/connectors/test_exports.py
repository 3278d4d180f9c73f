"""Exports people already have, each a real sample built here in the export's own layout: index -> search -> change
-> sync -> search sees the change -> delete -> gone, and another user sees none of it."""

from __future__ import annotations

import json
import mailbox
import os
import sqlite3
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from connutil import csg, found, sync  # noqa: F401 (csg: a fixture)

pytest.importorskip("vobject", reason="vobject is in the connectors extra: pip install -e '.[connectors]'")
OWNER = ["user:alice"]
STRANGER = ["user:mallory", "email:mallory@example.com", "everyone", "discord:999", "mattermost:mallory"]
HEX = "0123456789abcdef0123456789abcdef"


def mail(subject: str, body: str, to: str = "alice@example.com", attachment: tuple | None = None) -> EmailMessage:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "carol@example.com", to, subject
    m["Date"] = "Tue, 11 Mar 2025 09:00:00 +0000"
    m["Message-ID"] = f"<{abs(hash(subject))}@example.com>"
    m.set_content(body)
    if attachment:
        m.add_attachment(attachment[1].encode(), maintype="text", subtype="plain", filename=attachment[0])
    return m


def write_mbox(path: Path, *msgs: EmailMessage) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    box = mailbox.mbox(str(path))
    for m in msgs:
        box.add(m)
    box.flush()
    box.close()


ICS = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\r\n"
       "BEGIN:VEVENT\r\nUID:a1@google.com\r\nDTSTART:20250312T100000Z\r\nDTEND:20250312T110000Z\r\n"
       "SUMMARY:Standup with the emuteam\r\nATTENDEE;CN=Bob:mailto:bob@example.com\r\nLOCATION:Room 9\r\n"
       "END:VEVENT\r\nBEGIN:VEVENT\r\nUID:a2@google.com\r\nDTSTART;VALUE=DATE:20240105\r\n"
       "SUMMARY:Old yakretro\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
VCF = ("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Priya Tamarind\r\nEMAIL;TYPE=INTERNET:priya@acme.test\r\n"
       "TEL:+1 555 0100\r\nORG:Acme Robotics\r\nEND:VCARD\r\nBEGIN:VCARD\r\nVERSION:3.0\r\nFN:Omar Kestrel\r\n"
       "EMAIL:omar@acme.test\r\nEND:VCARD\r\n")


def takeout(root: Path) -> dict:
    t = root / "Takeout"
    write_mbox(t / "Mail" / "All mail Including Spam and Trash.mbox",
               mail("Invoice pumagreen", "The pumagreen invoice.", attachment=("terms.txt", "the cobrafine terms")))
    (t / "Drive" / "Projects").mkdir(parents=True)
    (t / "Drive" / "Projects" / "plan.md").write_text("# Plan\n\nThe lemurplan for spring.\n")
    (t / "Calendar").mkdir()
    (t / "Calendar" / "alice@example.com.ics").write_text(ICS)
    (t / "Contacts" / "All Contacts").mkdir(parents=True)
    (t / "Contacts" / "All Contacts" / "All Contacts.vcf").write_text(VCF)
    (t / "archive_browser.html").write_text("<html>lemurplan</html>")
    return {
        "queries": {"pumagreen type:email": ["Invoice pumagreen"], "cobrafine": ["terms.txt"],
                    "lemurplan": ["Plan"], "emuteam type:event after:2025-03-01 attendee:bob": ["Standup with the emuteam"],
                    "yakretro type:event before:2025-01-01": ["Old yakretro"], "tamarind type:contact": ["Priya Tamarind"]},
        "change": lambda: (t / "Drive" / "Projects" / "plan.md").write_text("# Plan\n\nThe gnuplan for summer.\n"),
        "changed": ("gnuplan", ["Plan"], "lemurplan"),
        "delete": lambda: (t / "Contacts" / "All Contacts" / "All Contacts.vcf").unlink(),
        "gone": "tamarind",
    }


def maildir(root: Path) -> dict:
    root.mkdir(parents=True)
    md = mailbox.Maildir(str(root / "Mail"), create=True)
    k1 = md.add(mail("Quarterly ferretnumbers", "The ferretnumbers are in."))
    sent = md.add_folder("Sent")
    sent.add(mail("Re: hello", "The badgerreply went out."))
    state = {"md": md, "k1": k1}

    def change() -> None:
        msg = md[k1]
        msg.set_flags("SF")  # read and flagged in another client
        md[k1] = msg
        md.add(mail("New stoatnews", "The stoatnews arrived."))

    return {
        "queries": {"ferretnumbers type:email": ["Quarterly ferretnumbers"], "badgerreply": ["Re: hello"]},
        "change": change,
        "changed": ("stoatnews", ["New stoatnews"], None),
        "delete": lambda: md.remove(state["k1"]) if state["k1"] in md else None,
        "gone": "ferretnumbers",
        "location": root / "Mail",
    }


def thunderbird(root: Path) -> dict:
    p = root / "profile"
    write_mbox(p / "Mail" / "Local Folders" / "Inbox", mail("Tb heronmail", "The heronmail body."))
    (p / "Mail" / "Local Folders" / "Inbox.msf").write_text("// mork index heronmail")
    write_mbox(p / "Mail" / "Local Folders" / "Inbox.sbd" / "Projects", mail("Tb swiftproject", "swiftproject"))
    write_mbox(p / "ImapMail" / "imap.example.com" / "INBOX", mail("Imap cached owlnote", "The owlnote."))
    (p / "prefs.js").write_text('user_pref("mail.server", "heronmail");')
    return {
        "queries": {"heronmail": ["Tb heronmail"], "swiftproject": ["Tb swiftproject"], "owlnote": ["Imap cached owlnote"]},
        "change": lambda: write_mbox(p / "Mail" / "Local Folders" / "Inbox", mail("Tb heronmail", "heronmail"),
                                     mail("Tb newtmail", "The newtmail body.")),
        "changed": ("newtmail", ["Tb newtmail"], None),
        "delete": lambda: (p / "ImapMail" / "imap.example.com" / "INBOX").unlink(),
        "gone": "owlnote",
        "location": p,
    }


def notion(root: Path) -> dict:
    e = root / "notion"
    sub = e / f"Team Wiki {HEX}"
    sub.mkdir(parents=True)
    (e / f"Team Wiki {HEX}.md").write_text(f"# Team Wiki\n\nSee [Onboarding](Team%20Wiki%20{HEX}/Onboarding%20{HEX[::-1]}.md)"
                                          " for the quailsteps.\n")
    (sub / f"Onboarding {HEX[::-1]}.md").write_text("# Onboarding\n\nDay one: the vicunadesk.\n")
    (sub / f"Tasks {HEX[:16] * 2}.csv").write_text("Name,Status\nOrder the zebrachair,Done\n")
    return {
        "queries": {"quailsteps": ["Team Wiki"], "vicunadesk": ["Onboarding"]},
        "change": lambda: (sub / f"Onboarding {HEX[::-1]}.md").write_text("# Onboarding\n\nDay one: the dingodesk.\n"),
        "changed": ("dingodesk", ["Onboarding"], "vicunadesk"),
        "delete": lambda: (e / f"Team Wiki {HEX}.md").unlink(),
        "gone": "quailsteps",
        "location": e,
        "folders": {"vicunadesk": "Team Wiki"},
    }


CONF_PAGE = """<html><head><title>Engineering : {title}</title></head><body><div id="breadcrumb-section">
<ol id="breadcrumbs"><li><a href="index.html">Engineering</a></li>{crumbs}</ol></div>
<h1 id="title-heading">{title}</h1><div id="main-content"><p>{body}</p></div></body></html>"""


def confluence(root: Path) -> dict:
    e = root / "ENG"
    (e / "attachments" / "222").mkdir(parents=True)
    (e / "index.html").write_text("<html><body>Space index</body></html>")
    (e / "Architecture_111.html").write_text(CONF_PAGE.format(title="Architecture", crumbs="", body="The mothservice."))
    (e / "Storage-Layer_222.html").write_text(CONF_PAGE.format(
        title="Storage Layer", crumbs='<li><a href="Architecture_111.html">Architecture</a></li>',
        body="The krakenstore keeps blobs."))
    (e / "attachments" / "222" / "notes.txt").write_text("Attachment about the krakenstore shards: squidshard.\n")
    return {
        "queries": {"mothservice": ["Architecture"], "krakenstore type:html": ["Storage Layer"], "squidshard": ["notes.txt"]},
        "change": lambda: (e / "Architecture_111.html").write_text(CONF_PAGE.format(
            title="Architecture", crumbs="", body="The beetleservice.")),
        "changed": ("beetleservice", ["Architecture"], "mothservice"),
        "delete": lambda: (e / "attachments" / "222" / "notes.txt").unlink(),
        "gone": "squidshard",
        "location": e,
        "folders": {"krakenstore type:html": "Architecture", "squidshard": "Architecture/Storage Layer"},
    }


def obsidian(root: Path) -> dict:
    v = root / "vault"
    (v / ".obsidian").mkdir(parents=True)
    (v / ".obsidian" / "app.json").write_text('{"falconplan": true}')
    (v / "Daily").mkdir()
    (v / "Daily" / "2025-03-10.md").write_text("Met about [[Project Falcon|the project]]: the falconplan is set.\n")
    (v / "Project Falcon.md").write_text("---\ntags: [work, birds]\n---\n# Project Falcon\n\nThe harrierscope.\n")
    return {
        "queries": {"falconplan": ["2025-03-10.md"], "harrierscope": ["Project Falcon"]},
        "change": lambda: (v / "Project Falcon.md").write_text("# Project Falcon\n\nThe kitescope replaced it.\n"),
        "changed": ("kitescope", ["Project Falcon"], "harrierscope"),
        "delete": lambda: (v / "Daily" / "2025-03-10.md").unlink(),
        "gone": "falconplan",
        "location": v,
    }


def discord(root: Path) -> dict:
    f = root / "discord" / "Guild - general [123].json"
    f.parent.mkdir(parents=True)

    def write(*texts: str) -> None:
        msgs = [{"id": str(i), "type": "Default", "timestamp": f"2025-03-1{i}T10:00:00+00:00", "content": t,
                 "author": {"id": "42", "name": "alice", "nickname": "Alice"}, "attachments": []}
                for i, t in enumerate(texts)]
        f.write_text(json.dumps({"guild": {"id": "1", "name": "Guild"}, "channel": {"id": "123", "name": "general"},
                                 "messages": msgs, "messageCount": len(msgs)}))

    write("the mongoosemeet is at 10", "the lorisdemo went well")
    return {
        "queries": {"mongoosemeet type:chat": ["#general 2025-03-10"], "lorisdemo": ["#general 2025-03-11"]},
        "change": lambda: write("the mongoosemeet is at 10", "the lorisdemo went well", "the civetrelease is out"),
        "changed": ("civetrelease", ["#general 2025-03-12"], None),
        "delete": lambda: f.unlink(),
        "gone": "mongoosemeet",
        "location": f.parent,
        "member": ["discord:42"],
    }


def mattermost(root: Path) -> dict:
    f = root / "mm" / "export.jsonl"
    f.parent.mkdir(parents=True)

    def write(*posts: tuple[str, str, str]) -> None:
        lines = [{"type": "version", "version": 1},
                 {"type": "user", "user": {"username": "alice", "email": "alice@example.com",
                                           "teams": [{"name": "eng", "channels": [{"name": "town-square"}]}]}},
                 {"type": "user", "user": {"username": "bob", "email": "bob@example.com",
                                           "teams": [{"name": "eng", "channels": [{"name": "private-ops"}]}]}}]
        lines += [{"type": "post", "post": {"team": "eng", "channel": ch, "user": u, "message": m,
                                            "create_at": 1741600000000 + i * 86400000}}
                  for i, (ch, u, m) in enumerate(posts)]
        lines.append({"type": "direct_post", "direct_post": {"channel_members": ["alice", "bob"], "user": "bob",
                                                             "message": "psst the jerboagift", "create_at": 1741600000000}})
        f.write_text("\n".join(json.dumps(x) for x in lines) + "\n{torn line\n")

    write(("town-square", "alice", "the marmosetmerge landed"), ("private-ops", "bob", "the ocelotoutage report"))
    return {
        "queries": {"marmosetmerge": ["#town-square 2025-03-10"], "ocelotoutage": ["#private-ops 2025-03-11"],
                    "jerboagift": ["#dm-alice-bob 2025-03-10"]},
        "change": lambda: write(("town-square", "alice", "the tapirtag was cut"), ("private-ops", "bob", "ocelotoutage")),
        "changed": ("tapirtag", ["#town-square 2025-03-10"], "marmosetmerge"),
        "delete": lambda: f.unlink(),
        "gone": "ocelotoutage",
        "location": f.parent,
        "member": ["mattermost:alice"],
        "member_sees": {"marmosetmerge": True, "ocelotoutage": False, "jerboagift": True},
    }


def firefox(root: Path) -> dict:
    p = root / "ff"
    p.mkdir(parents=True)
    db = p / "places.sqlite"
    week_ago = (time.time() - 6 * 86400) * 1e6
    con = sqlite3.connect(db)
    con.executescript("""
        CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url LONGVARCHAR, title LONGVARCHAR, rev_host LONGVARCHAR,
          visit_count INTEGER DEFAULT 0, hidden INTEGER DEFAULT 0, typed INTEGER DEFAULT 0, frecency INTEGER,
          last_visit_date INTEGER, guid TEXT, description TEXT);
        CREATE TABLE moz_bookmarks (id INTEGER PRIMARY KEY, type INTEGER, fk INTEGER DEFAULT NULL, parent INTEGER,
          position INTEGER, title LONGVARCHAR, keyword_id INTEGER, folder_type TEXT, dateAdded INTEGER,
          lastModified INTEGER, guid TEXT);
        INSERT INTO moz_bookmarks VALUES (1, 2, NULL, 0, 0, '', NULL, NULL, 0, 0, 'root________');
        INSERT INTO moz_bookmarks VALUES (2, 2, NULL, 1, 0, 'menu', NULL, NULL, 0, 0, 'menu________');
        INSERT INTO moz_bookmarks VALUES (3, 2, NULL, 2, 0, 'Recipes', NULL, NULL, 0, 0, 'aaaaaaaaaaaa');
    """)
    con.execute("INSERT INTO moz_places(id, url, title, visit_count, last_visit_date) VALUES "
                "(1, 'https://example.org/sourdough', 'Sourdough quinoabread guide', 3, ?)", (week_ago,))
    con.execute("INSERT INTO moz_places(id, url, title, visit_count, last_visit_date) VALUES "
                "(2, 'https://example.org/llama', 'The llamapage', 1, ?)", (week_ago - 400 * 86400e6,))
    con.execute("INSERT INTO moz_places(id, url, title, visit_count) VALUES (3, 'place:sort=8', 'x', 0)")
    con.execute("INSERT INTO moz_bookmarks VALUES (4, 1, 1, 3, 0, 'Bread', NULL, NULL, 0, 0, 'bbbbbbbbbbbb')")
    con.commit()
    con.close()
    last_week = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 8 * 86400))

    def change() -> None:
        c = sqlite3.connect(db)
        c.execute("INSERT INTO moz_places(id, url, title, visit_count, last_visit_date) VALUES "
                  "(5, 'https://example.org/okra', 'Okrastew tips', 1, ?)", (time.time() * 1e6,))
        c.commit()
        c.close()

    def delete() -> None:  # history cleared for that page
        c = sqlite3.connect(db)
        c.execute("DELETE FROM moz_places WHERE id = 2")
        c.commit()
        c.close()

    return {
        "queries": {f"quinoabread type:bookmark after:{last_week}": ["Sourdough quinoabread guide"],
                    f"llamapage type:history after:{last_week}": [], "llamapage type:history": ["The llamapage"]},
        "change": change, "changed": ("okrastew type:history", ["Okrastew tips"], None),
        "delete": delete, "gone": "llamapage", "location": p,
    }


def chromium(root: Path) -> dict:
    p = root / "Default"
    p.mkdir(parents=True)
    con = sqlite3.connect(p / "History")
    con.execute("CREATE TABLE urls(id INTEGER PRIMARY KEY AUTOINCREMENT, url LONGVARCHAR, title LONGVARCHAR, "
                "visit_count INTEGER DEFAULT 0 NOT NULL, typed_count INTEGER DEFAULT 0 NOT NULL, "
                "last_visit_time INTEGER NOT NULL, hidden INTEGER DEFAULT 0 NOT NULL)")
    chrome_now = int((time.time() + 11644473600) * 1e6)
    con.execute("INSERT INTO urls(url, title, visit_count, last_visit_time) VALUES "
                "('https://example.com/rust', 'Borrowchecker explained', 2, ?)", (chrome_now,))
    con.commit()
    con.close()
    (p / "Bookmarks").write_text(json.dumps({"roots": {"bookmark_bar": {"type": "folder", "name": "Bookmarks bar",
        "children": [{"type": "folder", "name": "Reading", "children": [
            {"type": "url", "name": "Borrowchecker", "url": "https://example.com/rust"}]}]}}}))

    def change() -> None:
        c = sqlite3.connect(p / "History")
        c.execute("INSERT INTO urls(url, title, visit_count, last_visit_time) VALUES "
                  "('https://example.com/go', 'Goroutinepage', 1, ?)", (chrome_now,))
        c.commit()
        c.close()

    return {
        "queries": {"borrowchecker type:bookmark": ["Borrowchecker explained"]},
        "change": change, "changed": ("goroutinepage", ["Goroutinepage"], None),
        "delete": lambda: (p / "Bookmarks").unlink() or _drop_url(p / "History", "rust"),
        "gone": "borrowchecker", "location": p,
    }


def _drop_url(db: Path, word: str) -> None:
    c = sqlite3.connect(db)
    c.execute("DELETE FROM urls WHERE url LIKE ?", (f"%{word}%",))
    c.commit()
    c.close()


SAMPLES = {"takeout": takeout, "maildir": maildir, "thunderbird": thunderbird, "notion": notion,
           "confluence": confluence, "obsidian": obsidian, "discord": discord, "mattermost": mattermost,
           "firefox": firefox, "chromium": chromium}


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_export_index_change_delete_and_acl(csg, tmp_path, kind):
    from spyglass.app.connectors import add_source

    s = SAMPLES[kind](tmp_path / "sample")
    location = s.get("location", tmp_path / "sample")
    add_source(csg, kind, str(location), name=kind, owner="user:alice")
    st = sync(csg, kind)
    assert st["failed"] == 0, st
    for q, titles in s["queries"].items():
        assert sorted(found(csg, q)) == sorted(titles), q
        assert found(csg, q, OWNER) == found(csg, q), q  # the owner reads all of it...
        assert found(csg, q, STRANGER) == [], q  # ...another user none of it
    for q, folder in s.get("folders", {}).items():  # page hierarchy as folders
        hit = csg.search(q, mode="keyword").hits[0]
        assert hit.path.endswith(f"{folder}/{hit.extra['name']}"), (q, hit.path)
    for q, sees in s.get("member_sees", {}).items():
        assert bool(found(csg, q, s["member"])) == sees, q
    if "member" in s and "member_sees" not in s:
        assert found(csg, next(iter(s["queries"])), s["member"])

    time.sleep(0.01)
    s["change"]()
    st = sync(csg, kind)
    word, titles, old = s["changed"]
    assert found(csg, word) == titles, (st, word)
    if old:
        assert found(csg, old) == []
    s["delete"]()
    st = sync(csg, kind)
    assert st["deleted"] >= 1 or st["updated"] >= 1, st
    assert found(csg, s["gone"]) == []


def test_obsidian_wiki_links_are_related(csg, tmp_path):
    from spyglass.app.connectors import add_source

    s = obsidian(tmp_path / "sample")
    add_source(csg, "obsidian", str(s["location"]), name="vault", owner="user:alice")
    sync(csg, "vault")
    daily = csg.search("falconplan", mode="keyword").hits[0].id
    project = csg.search("harrierscope", mode="keyword").hits[0].id
    meta = json.loads(csg.reader().catalog.items([daily])[daily]["meta"])
    assert meta["related"] == [project]
    assert json.loads(csg.reader().catalog.items([project])[project]["meta"])["tags"] == ["work", "birds"]


def test_ics_and_vcf_files_in_a_folder(csg, tmp_path):
    d = tmp_path / "cal"
    d.mkdir()
    (d / "team.ics").write_text(ICS)
    (d / "people.vcf").write_text(VCF)
    (d / "broken.ics").write_text("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:notadate\nSUMMARY:x\n")  # torn
    (d / "binary.vcf").write_bytes(os.urandom(4096))
    csg.index([str(d)])
    failed = {f["name"]: f["kind"] for f in csg.status()["failures"]}
    assert set(failed) == {"broken.ics", "binary.vcf"}, failed  # recorded with a reason; the rest is indexed
    assert found(csg, "type:event attendee:bob after:2025-03-01") == ["Standup with the emuteam"]
    assert sorted(found(csg, "acme type:contact")) == ["Omar Kestrel", "Priya Tamarind"]


def test_export_names_are_names_and_links_do_not_escape(csg, tmp_path):
    from spyglass.app.connectors import add_source

    secret = tmp_path / "secret.txt"
    secret.write_text("the hyenasecret outside the export\n")
    v = tmp_path / "vault"
    (v / "notes").mkdir(parents=True)
    (v / "notes" / "ok.md").write_text("the aardvarknote\n")
    os.symlink(secret, v / "notes" / "link.md")  # a link out of the export
    os.symlink(tmp_path, v / "escape")  # a folder link out of it
    (v / "dots..in..name.md").write_text("dots in a name are a name: the pikaname\n")
    add_source(csg, "obsidian", str(v), name="vault", owner="user:alice")
    st = sync(csg, "vault")
    assert found(csg, "hyenasecret") == []
    assert found(csg, "aardvarknote") == ["ok.md"] and found(csg, "pikaname") == ["dots..in..name.md"]
    assert st["errors"].get("unsafe-path") == 1, st
    mm = tmp_path / "mm"
    mm.mkdir()
    (mm / "x.jsonl").write_text(json.dumps({"type": "post", "post": {"channel": "../../../etc", "user": "u",
                                                                     "message": "the tenrecpost", "create_at": 1741600000000}}))
    add_source(csg, "mattermost", str(mm), name="mm", owner="user:alice")
    sync(csg, "mm")
    assert found(csg, "tenrecpost") == ["#../../../etc 2025-03-10"]
    assert not (tmp_path.parent / "etc").exists()


def test_calendar_without_vobject_names_the_extra(monkeypatch):
    import sys

    from spyglass.core.errors import ExtractionError
    from spyglass.extraction.base import Blob, Context
    from spyglass.extraction.calendar import extract_ics

    monkeypatch.setitem(sys.modules, "vobject", None)
    with pytest.raises(ExtractionError, match=r"spyglass\[connectors\]"):
        extract_ics(Blob(name="a.ics", data=ICS.encode()), Context())
