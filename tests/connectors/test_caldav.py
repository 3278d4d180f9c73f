"""CalDAV/CardDAV against a real Radicale started by the test: events and contacts as documents, findable by
`type:event after:... attendee:...`; change, delete, per-account permissions, a server that goes down."""

from __future__ import annotations

import base64
import http.client
import os
import subprocess
import sys
from pathlib import Path

import pytest

from connutil import csg, found, free_port, state, stop, sync, wait_port  # noqa: F401 (csg: a fixture)

radicale = pytest.importorskip("radicale", reason="Radicale is in the test extra: pip install -e '.[test]'")
pytest.importorskip("vobject", reason="vobject is in the connectors extra: pip install -e '.[connectors]'")
USERS = {"alice": "alice-Cal-Secret-1", "bob": "bob-Cal-Secret-2"}
ADDRESSBOOK = (b'<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set>'
               b"<D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>")


def event(uid: str, title: str, start: str, attendees: list[str], description: str = "", location: str = "") -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//spyglass test//EN", "BEGIN:VEVENT", f"UID:{uid}",
             "DTSTAMP:20250101T000000Z", f"SUMMARY:{title}", f"DTSTART:{start}", "DURATION:PT1H",
             "ORGANIZER;CN=Alice:mailto:alice@example.com"]
    lines += [f"ATTENDEE;CN={a.split('@')[0].title()}:mailto:{a}" for a in attendees]
    if description:
        lines.append(f"DESCRIPTION:{description}")
    if location:
        lines.append(f"LOCATION:{location}")
    lines += ["END:VEVENT", "END:VCALENDAR", ""]
    return "\r\n".join(lines).encode()


def card(uid: str, name: str, email: str, org: str) -> bytes:
    return (f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{name}\r\nN:{name.split()[-1]};{name.split()[0]};;;\r\n"
            f"EMAIL:{email}\r\nORG:{org}\r\nEND:VCARD\r\n").encode()


class Radicale:
    def __init__(self, root: Path) -> None:
        root.mkdir()
        (root / "users").write_text("".join(f"{u}:{p}\n" for u, p in USERS.items()))
        self.port = free_port()
        (root / "config").write_text(f"""[server]
hosts = 127.0.0.1:{self.port}
[auth]
type = htpasswd
htpasswd_filename = {root}/users
htpasswd_encryption = plain
[storage]
filesystem_folder = {root}/collections
[rights]
type = owner_only
[logging]
level = error
""")
        self.proc = subprocess.Popen([sys.executable, "-m", "radicale", "--config", str(root / "config")],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        wait_port(self.port, self.proc)

    def req(self, user: str, method: str, path: str, body: bytes | None = None, ctype: str = "") -> int:
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        h = {"Authorization": "Basic " + base64.b64encode(f"{user}:{USERS[user]}".encode()).decode()}
        if ctype:
            h["Content-Type"] = ctype
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        r.read()
        c.close()
        assert r.status < 300, (method, path, r.status)
        return r.status


@pytest.fixture
def dav(tmp_path):
    srv = Radicale(tmp_path / "radicale")
    try:
        yield srv
    finally:
        stop(srv.proc)


def add(csg, srv: Radicale, user: str) -> str:
    from spyglass.app.connectors import add_source

    os.environ[f"TEST_DAV_{user.upper()}"] = USERS[user]
    add_source(csg, "caldav", f"http://127.0.0.1:{srv.port}/{user}/", name=f"cal-{user}", owner=f"user:{user}",
               settings={"user": user, "password_env": f"TEST_DAV_{user.upper()}"})
    return f"cal-{user}"


def fill_alice(srv: Radicale) -> None:
    srv.req("alice", "MKCALENDAR", "/alice/work/")
    srv.req("alice", "MKCOL", "/alice/contacts/", ADDRESSBOOK, "application/xml")
    srv.req("alice", "PUT", "/alice/work/review.ics",
            event("review", "Quarterly kestrelreview", "20250310T140000Z", ["bob@example.com", "carol@example.com"],
                  "Discuss the kestrel numbers", "Room 4"), "text/calendar")
    srv.req("alice", "PUT", "/alice/work/old.ics",
            event("old", "Old planning", "20241101T090000Z", ["dave@example.com"], "The kestrel roadmap"),
            "text/calendar")
    srv.req("alice", "PUT", "/alice/contacts/zed.vcf", card("zed", "Zed Quillfeather", "zed@acme.test", "Acme"),
            "text/vcard")


def test_caldav_carddav_index_change_delete(csg, dav, monkeypatch):
    from spyglass.sources.http import HttpClient

    methods: list[str] = []
    real = HttpClient.request
    monkeypatch.setattr(HttpClient, "request", lambda self, m, *a, **k: methods.append(m) or real(self, m, *a, **k))
    fill_alice(dav)
    name = add(csg, dav, "alice")
    st = sync(csg, name)
    assert st["added"] == 3 and st["failed"] == 0, st
    assert "GET" not in methods and methods.count("REPORT") == 2  # one multiget per collection, no GET per item
    assert found(csg, "kestrel type:event after:2025-03-01 attendee:bob") == ["Quarterly kestrelreview"]
    assert found(csg, "type:event after:2025-03-01 attendee:bob@example.com") == ["Quarterly kestrelreview"]
    assert found(csg, "kestrel type:event after:2025-03-01 attendee:dave") == []
    assert found(csg, "kestrel type:event before:2025-01-01") == ["Old planning"]
    assert found(csg, "room type:event") == ["Quarterly kestrelreview"]  # the location is text
    assert found(csg, "quillfeather type:contact") == ["Zed Quillfeather"]
    assert found(csg, "acme type:contact") == ["Zed Quillfeather"]

    # moved and renamed on the server; a new attendee
    dav.req("alice", "PUT", "/alice/work/review.ics",
            event("review", "Quarterly heronreview", "20250317T140000Z", ["bob@example.com", "erin@example.com"],
                  "Discuss the heron numbers"), "text/calendar")
    st = sync(csg, name)
    assert (st["updated"], st["unchanged"]) == (1, 2), st
    assert found(csg, "heronreview type:event attendee:erin after:2025-03-15") == ["Quarterly heronreview"]
    assert found(csg, "kestrelreview") == []

    dav.req("alice", "DELETE", "/alice/work/old.ics")
    dav.req("alice", "DELETE", "/alice/contacts/zed.vcf")
    st = sync(csg, name)
    assert st["deleted"] == 2
    assert found(csg, "kestrel type:event") == [] and found(csg, "quillfeather") == []

    stop(dav.proc)
    st = sync(csg, name)
    assert st["errors"]["source-failing"] == 1 and state(csg, name)["state"] == "failing"
    assert found(csg, "heronreview") == ["Quarterly heronreview"]


def test_caldav_acl_per_account_and_attendees(csg, dav):
    fill_alice(dav)
    dav.req("bob", "MKCALENDAR", "/bob/private/")
    dav.req("bob", "PUT", "/bob/private/otter.ics",
            event("otter", "Bob's privateotter dentist", "20250312T080000Z", []), "text/calendar")
    sync(csg, add(csg, dav, "alice"))
    sync(csg, add(csg, dav, "bob"))
    alice = ["user:alice", "everyone"]
    bob = ["user:bob", "dav:bob@127.0.0.1", "everyone"]
    assert found(csg, "privateotter", alice) == []
    assert found(csg, "privateotter", bob) == ["Bob's privateotter dentist"]
    assert found(csg, "quillfeather", bob) == [] and found(csg, "quillfeather", alice) == ["Zed Quillfeather"]
    assert found(csg, "kestrel", bob) == []  # bob's account does not read alice's calendar...
    # ...but the invited read their invitation, and only it
    assert found(csg, "kestrel", ["email:bob@example.com"]) == ["Quarterly kestrelreview"]
    assert found(csg, "kestrel OR privateotter OR quillfeather", ["email:mallory@example.com", "everyone"]) == []
