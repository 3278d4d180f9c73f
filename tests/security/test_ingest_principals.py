"""13.11: principals follow the content, not the file holder. A message is readable by its sender and recipients, a
channel-day by the channel's members — not by whoever holds the export or mailbox file. What names no reader (a
message with no valid address, a channel without a member list) is readable only by the file's owner: default-deny,
never ``everyone``. Attachments and forwarded messages are readable by the readers of the message that carries them.

The attack: the owner of an export file was added to every channel-day and message, so a server account named like
that owner saw every private channel and direct message; a channel with no member list became readable by everyone.
"""

from __future__ import annotations

import json
import mailbox
import os
from email.message import EmailMessage
from pathlib import Path

from .secutil import open_sg, rows

USERS = [{"id": "U1", "name": "bob", "profile": {"email": "bob@example.com"}},
         {"id": "U2", "name": "carol", "profile": {"email": "carol@example.com"}}]


def _day(text: str) -> str:
    return json.dumps([{"type": "message", "user": "U1", "text": text, "ts": "1600000000.000100"}])


def _export(root: Path, owner) -> Path:
    root.mkdir(mode=0o755)
    (root / "users.json").write_text(json.dumps(USERS))
    (root / "channels.json").write_text(json.dumps([{"id": "C1", "name": "general", "members": ["U1", "U2"]},
                                                    {"id": "C2", "name": "nomembers"}]))
    (root / "groups.json").write_text(json.dumps([{"id": "G1", "name": "secret-plans", "members": ["U2"]}]))
    for ch, text in (("general", "general chatter apricot"), ("nomembers", "unlisted channel apricot"),
                     ("secret-plans", "private plans apricot")):
        (root / ch).mkdir()
        (root / ch / "2020-09-13.json").write_text(_day(text))
    for p in [root, *root.rglob("*")]:
        os.chown(p, owner.uid, owner.gid)
        p.chmod(0o755 if p.is_dir() else 0o644)
    return root


def _by_title(sg, prefix: str) -> dict:
    found = [r for r in rows(sg, "parent_id IS NOT NULL") if (r["name"] or "").startswith(prefix)]
    assert len(found) == 1, (prefix, rows(sg, "parent_id IS NOT NULL"))
    return found[0]


def test_the_export_owner_is_not_added_to_channels_that_name_their_members(tmp_path, accounts):
    alice = accounts.user("alice")  # who ran the export and holds its folder
    base = tmp_path / "share"
    base.mkdir(mode=0o755)
    export = _export(base / "slack", alice)
    sg = open_sg(tmp_path / "home")
    sg.index([str(export)])
    general = _by_title(sg, "#general")["principals"]
    assert general == ["email:bob@example.com", "email:carol@example.com", "slack:U1", "slack:U2"]
    secret = _by_title(sg, "#secret-plans")["principals"]
    assert secret == ["email:carol@example.com", "slack:U2"]
    # a channel that names no member: its holder only, never everyone
    assert _by_title(sg, "#nomembers")["principals"] == [f"user:{alice.name}"]

    def seen(user: str) -> set[str]:
        return {h.title for h in sg.search("apricot", as_user=user, limit=20).hits}

    assert seen(alice.name) == {"#nomembers 2020-09-13"}  # an account named like the owner sees no channel
    eve = accounts.user("eve")
    assert seen(eve.name) == set()
    sg.close()


def _msg(frm: str, to: str, subject: str, body: str) -> EmailMessage:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = frm, to, subject
    m.set_content(body)
    return m


def test_mailbox_messages_are_their_correspondents_and_a_message_without_address_its_holders(tmp_path, accounts):
    alice = accounts.user("alice")
    eve = accounts.user("eve")
    base = tmp_path / "share"
    base.mkdir(mode=0o755)
    box_path = base / "archive.mbox"
    box = mailbox.mbox(str(box_path))
    box.add(_msg("bob@example.com", "carol@example.com", "addressed", "addressed message kumquat"))
    box.add(_msg("undisclosed", "not an address", "anonymous", "anonymous message kumquat"))
    with_att = _msg("bob@example.com", "dan@example.com", "with attachment", "see attached")
    with_att.add_attachment(b"attachment words kumquat", maintype="text", subtype="plain", filename="notes.txt")
    fwd = EmailMessage()
    fwd["From"], fwd["To"], fwd["Subject"] = "erin@example.com", "frank@example.com", "inner"
    fwd.set_content("forwarded inner message kumquat")
    with_att.add_attachment(fwd)  # message/rfc822: forwarded to dan
    box.add(with_att)
    box.close()
    os.chown(box_path, alice.uid, alice.gid)
    box_path.chmod(0o644)  # the file itself is world-readable
    sg = open_sg(tmp_path / "home")
    sg.index([str(base)])
    assert _by_title(sg, "addressed")["principals"] == ["email:bob@example.com", "email:carol@example.com"]
    assert _by_title(sg, "anonymous")["principals"] == [f"user:{alice.name}"]
    carried = ["email:bob@example.com", "email:dan@example.com"]
    assert _by_title(sg, "with attachment")["principals"] == carried
    assert _by_title(sg, "notes.txt")["principals"] == carried
    assert _by_title(sg, "inner")["principals"] == carried  # dan received it; erin and frank did not, here
    assert sg.search("kumquat", as_user=eve.name).total == 0
    assert {h.title for h in sg.search("kumquat", as_user=alice.name, limit=20).hits} == {"anonymous"}
    sg.close()


def test_an_export_in_a_zip_follows_the_same_rule(tmp_path, accounts):
    import io
    import zipfile

    alice = accounts.user("alice")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("users.json", json.dumps(USERS))
        zf.writestr("channels.json", json.dumps([{"id": "C1", "name": "general", "members": ["U1"]},
                                                 {"id": "C2", "name": "nomembers"}]))
        zf.writestr("general/2020-09-13.json", _day("zipped general fig"))
        zf.writestr("nomembers/2020-09-13.json", _day("zipped unlisted fig"))
    z = tmp_path / "export.zip"
    z.write_bytes(buf.getvalue())
    os.chown(z, alice.uid, alice.gid)
    z.chmod(0o644)
    sg = open_sg(tmp_path / "home")
    sg.index([str(z)])
    assert _by_title(sg, "#general")["principals"] == ["email:bob@example.com", "slack:U1"]
    assert _by_title(sg, "#nomembers")["principals"] == [f"user:{alice.name}"]
    sg.close()
