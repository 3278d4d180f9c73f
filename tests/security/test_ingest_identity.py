"""13.10: nothing is silently lost. A document inside a file is identified by its position and its own id, so two
messages with one Message-ID (or two zip members with one name) are both indexed, and the collision is recorded.

The attack: a second message reusing the Message-ID of a first one replaced it in the index without a trace — a
sender could make a message disappear from everyone's search.
"""

from __future__ import annotations

import io
import json
import mailbox
import zipfile
from email.message import EmailMessage
from pathlib import Path

from .secutil import open_sg, rows


def _msg(subject: str, body: str, mid: str | None) -> EmailMessage:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "carol@example.com", "dan@example.com", subject
    if mid:
        m["Message-ID"] = mid
    m.set_content(body)
    return m


def _mbox(path: Path, msgs: list[EmailMessage]) -> None:
    box = mailbox.mbox(str(path))
    for m in msgs:
        box.add(m)
    box.close()


def test_two_messages_with_one_message_id_are_both_indexed_and_the_collision_recorded(tmp_path):
    root = tmp_path / "mail"
    root.mkdir()
    _mbox(root / "inbox.mbox", [
        _msg("original", "the original says lilac", "<same@example.com>"),
        _msg("unique", "an unrelated note", "<other@example.com>"),
        _msg("impostor", "the second copy says orchid", "<same@example.com>"),
        _msg("no id", "a message without an id says tulip", None),
    ])
    sg = open_sg(tmp_path / "home")
    sg.index([str(root)])
    for word in ("lilac", "orchid", "tulip"):
        assert sg.search(word).total == 1, word
    msgs = rows(sg, "parent_id IS NOT NULL AND type = 'email'")
    assert len(msgs) == 4
    dup = [m for m in msgs if m["name"] in ("original", "impostor")]
    for m in dup:
        meta = json.loads(m["meta"])
        assert meta["message_id_collision"]["positions"] == [0, 2], meta
    box = rows(sg, "parent_id IS NULL")[0]
    assert json.loads(box["meta"])["message_id_collisions"] == 1
    sg.close()


def test_identity_is_position_and_id_stable_when_messages_are_appended(tmp_path):
    root = tmp_path / "mail"
    root.mkdir()
    first = [_msg(f"m{i}", f"message number {i}", f"<m{i}@example.com>") for i in range(3)]
    _mbox(root / "inbox.mbox", first)
    sg = open_sg(tmp_path / "home")
    sg.index([str(root)])
    before = {m["name"]: m["id"] for m in rows(sg, "parent_id IS NOT NULL")}
    box = mailbox.mbox(str(root / "inbox.mbox"))
    box.add(_msg("m3", "message number 3", "<m0@example.com>"))  # appended, reusing an id
    box.close()
    sg.index()
    after = {m["name"]: m["id"] for m in rows(sg, "parent_id IS NOT NULL")}
    assert {k: after[k] for k in before} == before
    assert len(after) == 4
    sg.close()


def test_zip_members_with_one_name_are_both_indexed(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("notes.txt", "first notes say walnut")
        zf.writestr("notes.txt", "second notes say chestnut")  # zip allows it (with a warning)
    (tmp_path / "a.zip").write_bytes(buf.getvalue())
    sg = open_sg(tmp_path / "home")
    sg.index([str(tmp_path / "a.zip")])
    assert sg.search("walnut").total == 1 and sg.search("chestnut").total == 1
    members = rows(sg, "parent_id IS NOT NULL")
    assert len(members) == 2
    assert all(json.loads(m["meta"] or "{}").get("name_collision") for m in members), members
    sg.close()
