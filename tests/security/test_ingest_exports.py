"""13.4: export parsers cannot escape their folder. Every name that comes from inside an export or archive (a Slack
channel name, a day file, a zip member) is a name, never a path: it is checked and its resolved location must stay
inside the export, or the entry is refused and recorded.

The attack: a Slack export whose ``channels.json`` names a channel ``../../..`` made the indexer read every JSON file
the indexing user could reach there and label it with the attacker's member list.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from .secutil import open_sg, rows, texts

DAY = [{"type": "message", "user": "U1", "text": "hello from general", "ts": "1600000000.000100"}]
SECRET_DAY = [{"type": "message", "user": "U9", "text": "topsecret payroll figures", "ts": "1600000000.000200"}]


def _export(root: Path, channels: list[dict]) -> Path:
    root.mkdir(parents=True)
    (root / "users.json").write_text(json.dumps([{"id": "U1", "name": "mallory",
                                                  "profile": {"email": "mallory@example.com"}}]))
    (root / "channels.json").write_text(json.dumps(channels))
    (root / "general").mkdir()
    (root / "general" / "2020-09-13.json").write_text(json.dumps(DAY))
    return root


def _outside(tmp_path: Path) -> Path:
    out = tmp_path / "victim"
    out.mkdir()
    (out / "2020-09-13.json").write_text(json.dumps(SECRET_DAY))
    return out


def _refused(sg) -> list[dict]:
    return [r for r in rows(sg, "status = 'error'") if r["error_kind"] in ("unsafe-name", "outside-export")]


def test_a_channel_named_like_a_path_is_refused(tmp_path):
    _outside(tmp_path)
    export = _export(tmp_path / "drop" / "export", [
        {"id": "C1", "name": "general", "members": ["U1"]},
        {"id": "C2", "name": "../../victim", "members": ["U1"]},  # relative: leaves the export
        {"id": "C3", "name": str(tmp_path / "victim"), "members": ["U1"]},  # absolute
        {"id": "C4", "name": "..", "members": ["U1"]},
    ])
    sg = open_sg(tmp_path / "home")
    sg.index([str(export)])
    held = texts(sg)
    assert "hello from general" in held
    assert "topsecret" not in held
    refused = _refused(sg)
    assert len(refused) == 3, refused
    assert all("name" in r["error"] and "/" not in r["name"] for r in refused)
    sg.close()


def test_links_inside_an_export_that_leave_it_are_refused(tmp_path):
    victim = _outside(tmp_path)
    export = _export(tmp_path / "export", [
        {"id": "C1", "name": "general", "members": ["U1"]},
        {"id": "C2", "name": "linked", "members": ["U1"]},
    ])
    (export / "linked").symlink_to(victim, target_is_directory=True)  # a channel folder that is a link out
    (export / "general" / "2020-09-14.json").symlink_to(victim / "2020-09-13.json")  # a day file that is a link out
    sg = open_sg(tmp_path / "home")
    sg.index([str(export)])
    assert "topsecret" not in texts(sg)
    assert len(_refused(sg)) == 2, rows(sg)
    sg.close()


def test_a_zipped_export_checks_its_names_too(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("users.json", json.dumps([{"id": "U1", "name": "mallory"}]))
        zf.writestr("channels.json", json.dumps([{"id": "C1", "name": "general", "members": ["U1"]},
                                                 {"id": "C2", "name": "../evil", "members": ["U1"]}]))
        zf.writestr("general/2020-09-13.json", json.dumps(DAY))
        zf.writestr("../evil/2020-09-13.json", json.dumps(SECRET_DAY))
    z = tmp_path / "slack.zip"
    z.write_bytes(buf.getvalue())
    sg = open_sg(tmp_path / "home")
    sg.index([str(z)])
    held = texts(sg)
    assert "hello from general" in held and "topsecret" not in held
    assert len(_refused(sg)) == 1
    sg.close()


def test_zip_members_with_path_names_are_refused_and_recorded(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("docs/fine.txt", "an ordinary member clementine")
        zf.writestr("../../escape.txt", "dotdot member clementine")
        zf.writestr("/etc/absolute.txt", "absolute member clementine")
        zf.writestr("docs/../../up.txt", "sneaky member clementine")
    z = tmp_path / "archive.zip"
    z.write_bytes(buf.getvalue())
    sg = open_sg(tmp_path / "home")
    sg.index([str(z)])
    held = texts(sg)
    assert "ordinary member" in held
    assert not any(w in held for w in ("dotdot member", "absolute member", "sneaky member"))
    refused = _refused(sg)
    assert len(refused) == 3, rows(sg)
    assert all("/" not in r["name"] for r in refused)  # the record's name is no path either
    assert {"'../../escape.txt'", "'/etc/absolute.txt'", "'docs/../../up.txt'"} == {
        r["error"].split(" ")[2] for r in refused}
    sg.close()
