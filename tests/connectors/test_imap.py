"""IMAP against a real Dovecot started by the test (a throwaway instance in a temp folder, passwd-file users, a free
port): folders, flags, attachments as children, incremental by UIDVALIDITY/UID, deletions, the account's and
recipients' principals, credentials never stored, a server that goes down."""

from __future__ import annotations

import contextlib
import imaplib
import os
import shutil
import subprocess
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from connutil import csg, found, free_port, state, stop, sync, wait_port  # noqa: F401 (csg: a fixture)

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
pytestmark = pytest.mark.skipif(not os.path.exists(DOVECOT) or os.geteuid() != 0,
                                reason="needs Debian's dovecot-imapd (scripts/bootstrap.sh installs it as root)")
PASSWORDS = {"alice": "alice-Secret-7f3a", "bob": "bob-Secret-91c2"}
NOBODY = 65534


@contextlib.contextmanager
def start_dovecot():
    """A throwaway Dovecot on a free port with users alice and bob: yields (port, process)."""
    # not under pytest's tmp_path: Dovecot's auth and mail processes (other users) must reach the files
    d = Path(tempfile.mkdtemp(prefix="spyglass-dovecot-"))
    d.chmod(0o755)
    for sub in ("run", "state", "mail"):
        (d / sub).mkdir(parents=True)
    os.chown(d / "mail", NOBODY, NOBODY)
    (d / "passwd").write_text("".join(f"{u}:{{PLAIN}}{p}:{NOBODY}:{NOBODY}::{d}/mail/{u}::\n"
                                      for u, p in PASSWORDS.items()))
    port = free_port()
    (d / "dovecot.conf").write_text(f"""
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {d}/passwd
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
""")
    proc = subprocess.Popen([DOVECOT, "-F", "-c", str(d / "dovecot.conf")], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        wait_port(port, proc)
        yield port, proc
    finally:
        stop(proc)
        shutil.rmtree(d, ignore_errors=True)

@pytest.fixture
def dovecot():
    with start_dovecot() as running:
        yield running


def client(port: int, user: str) -> imaplib.IMAP4:
    m = imaplib.IMAP4("127.0.0.1", port, timeout=10)
    m.login(user, PASSWORDS[user])
    return m


def message(subject: str, body: str, to: str, sender: str = "carol@example.com", attachment: tuple | None = None,
            ) -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = sender, to, subject
    m["Date"] = "Mon, 02 Sep 2024 10:00:00 +0000"
    m["Message-ID"] = f"<{abs(hash(subject))}@example.com>"
    m.set_content(body)
    if attachment:
        m.add_attachment(attachment[1].encode(), maintype="text", subtype="plain", filename=attachment[0])
    return m.as_bytes()


def append(port: int, user: str, folder: str, raw: bytes, flags: str = "") -> None:
    m = client(port, user)
    m.create(folder)
    typ, _ = m.append(folder, flags or None, None, raw)
    assert typ == "OK"
    m.logout()


def expunge(port: int, user: str, folder: str, subject: str) -> None:
    m = client(port, user)
    m.select(folder)
    typ, data = m.uid("SEARCH", "SUBJECT", f'"{subject}"')
    for uid in data[0].split():
        m.uid("STORE", uid, "+FLAGS", "(\\Deleted)")
    m.expunge()
    m.logout()


def add(csg, port: int, user: str) -> str:
    from spyglass.app.connectors import add_source

    os.environ[f"TEST_IMAP_{user.upper()}"] = PASSWORDS[user]
    add_source(csg, "imap", f"imap://127.0.0.1:{port}", name=f"mail-{user}", owner=f"user:{user}",
               settings={"user": user, "password_env": f"TEST_IMAP_{user.upper()}"})
    return f"mail-{user}"


def test_imap_index_change_delete(csg, dovecot):
    port, proc = dovecot
    append(port, "alice", "INBOX", message("Budget quetzalfigure", "The quetzalfigure budget is approved.",
                                           "alice@example.com", attachment=("notes.txt", "okapimemo inside")))
    append(port, "alice", "Projects/Apollo", message("Launch window", "The tapirlaunch is on Friday.",
                                                     "alice@example.com"), flags="(\\Flagged)")
    name = add(csg, port, "alice")
    st = sync(csg, name)
    assert st["added"] == 2 and st["failed"] == 0, st
    assert found(csg, "quetzalfigure type:email") == ["Budget quetzalfigure"]
    assert found(csg, "okapimemo") == ["notes.txt"]  # the attachment, a child of the message
    hit = csg.search("tapirlaunch", mode="keyword").hits[0]
    row = csg.reader().catalog.items([hit.id])[hit.id]
    assert "Projects/Apollo" in row["path"] and '"\\\\Flagged"' in row["meta"]

    # a new message and a flag change: the new one is fetched, the flagged one updated, nothing else read
    append(port, "alice", "INBOX", message("Second note", "The marmotagenda for Monday.", "alice@example.com"))
    m = client(port, "alice")
    m.select("INBOX")
    m.uid("STORE", m.uid("SEARCH", "SUBJECT", '"Budget"')[1][0], "+FLAGS", "(\\Seen)")
    m.logout()
    st = sync(csg, name)
    assert (st["added"], st["updated"], st["unchanged"]) == (1, 1, 1), st
    assert found(csg, "marmotagenda") == ["Second note"]

    expunge(port, "alice", "INBOX", "Budget")
    st = sync(csg, name)
    assert st["deleted"] == 1
    assert found(csg, "quetzalfigure") == [] and found(csg, "okapimemo") == []

    # the folder is deleted and made again: a new UIDVALIDITY, so every old key vanishes and the folder is re-read
    m = client(port, "alice")
    m.delete("Projects/Apollo")
    m.logout()
    time.sleep(1.1)  # UIDVALIDITY is a timestamp in Dovecot
    append(port, "alice", "Projects/Apollo", message("Launch moved", "The tapirlaunch moves to Monday.",
                                                     "alice@example.com"))
    st = sync(csg, name)
    assert st["deleted"] == 1 and st["added"] == 1, st
    assert found(csg, "tapirlaunch") == ["Launch moved"]

    # the password is in no file of the data directory, nor in the source's settings
    secret = PASSWORDS["alice"].encode()
    for p in Path(csg.home).rglob("*"):
        if p.is_file():
            assert secret not in p.read_bytes(), p
    assert state(csg, name)["state"] == "ok"

    stop(proc)  # the server goes down: the source is failing, what is indexed stays
    st = sync(csg, name)
    assert st["errors"]["source-failing"] == 1
    s = state(csg, name)
    assert s["state"] == "failing" and "Connection" in s["last_error"] and PASSWORDS["alice"] not in s["last_error"]
    assert found(csg, "marmotagenda") == ["Second note"]


def test_imap_acl_accounts_and_recipients(csg, dovecot):
    port, _ = dovecot
    append(port, "alice", "INBOX", message("Alice only", "The ocelotledger numbers.", "alice@example.com"))
    append(port, "bob", "INBOX", message("Bob only", "The narwhalsecret plan.", "bob@example.com"))
    sync(csg, add(csg, port, "alice"))
    sync(csg, add(csg, port, "bob"))
    alice = ["user:alice", "everyone"]
    bob = ["user:bob", "everyone"]
    assert found(csg, "ocelotledger", alice) == ["Alice only"]
    assert found(csg, "narwhalsecret", alice) == []
    assert found(csg, "narwhalsecret", bob) == ["Bob only"]
    assert found(csg, "ocelotledger", bob) == []
    # the account and the recipients read it too; a stranger reads nothing
    assert found(csg, "ocelotledger", ["imap:alice@127.0.0.1"]) == ["Alice only"]
    assert found(csg, "ocelotledger", ["email:alice@example.com"]) == ["Alice only"]
    assert found(csg, "ocelotledger OR narwhalsecret", ["email:mallory@example.com", "everyone"]) == []


def test_wrong_password_is_recorded_not_logged(csg, dovecot):
    from spyglass.app.connectors import add_source

    port, _ = dovecot
    os.environ["TEST_IMAP_WRONG"] = "not-the-Password-55"
    add_source(csg, "imap", f"imap://127.0.0.1:{port}", name="wrong", owner="user:alice",
               settings={"user": "alice", "password_env": "TEST_IMAP_WRONG"})
    st = sync(csg, "wrong")
    assert st["errors"]["source-failing"] == 1
    s = state(csg, "wrong")
    assert s["state"] == "failing" and "not-the-Password-55" not in s["last_error"]
    assert "AUTHENTICATIONFAILED" in s["last_error"] or "failed" in s["last_error"].lower()
