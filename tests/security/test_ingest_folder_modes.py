"""13.2: folder permissions count. On Unix a file is readable by a person only if they may search (execute) every
folder on its path — the source root's own ancestors included — and read the file itself, each check by the owner,
group or other class that applies to them. A 0644 file in a 0700 folder is nobody's but the folder owner's.

The attack: a member searches for words in a colleague's 0644 file that sits in the colleague's 0700 home; Unix
refuses them the file, the index used to label it ``everyone``. Real users and groups (root in CI).
"""

from __future__ import annotations

import os
from pathlib import Path

from spyglass.core.config import UserSettings

from .secutil import open_sg, top_row


def _mk(path: Path, mode: int, owner, group=None, text: str | None = None) -> Path:
    if text is None:
        path.mkdir()
    else:
        path.write_text(text)
    os.chown(path, owner.uid, (group or owner).gid)
    path.chmod(mode)
    return path


def _base(tmp_path: Path) -> Path:
    base = tmp_path / "share"
    base.mkdir(mode=0o755)
    base.chmod(0o755)
    return base


def _index(tmp_path: Path, root: Path):
    sg = open_sg(tmp_path / "home")
    sg.index([str(root)])
    return sg


def test_a_0644_file_in_a_0700_folder_is_private_to_the_folder_owner(tmp_path, accounts):
    alice, bob, eve = accounts.user("alice"), accounts.user("bob"), accounts.user("eve")
    base = _base(tmp_path)
    home = _mk(base / "alice", 0o700, alice)
    _mk(home / "diary.txt", 0o644, alice, text="alice diary marzipan")
    _mk(home / "from-bob.txt", 0o644, bob, text="bob wrote this into alice's folder")
    _mk(base / "open.txt", 0o644, bob, text="an open file marzipan")
    sg = _index(tmp_path, base)
    assert top_row(sg, home / "diary.txt")["principals"] == [f"user:{alice.name}"]
    # bob owns the file but may not reach it; alice reaches it and reads it as "other"
    assert top_row(sg, home / "from-bob.txt")["principals"] == [f"user:{alice.name}"]
    assert top_row(sg, base / "open.txt")["principals"] == ["everyone"]
    assert {h.path for h in sg.search("marzipan", as_user=eve.name).hits} == {str(base / "open.txt")}
    assert {h.path for h in sg.search("marzipan", as_user=alice.name).hits} == {str(base / "open.txt"),
                                                                              str(home / "diary.txt")}
    sg.close()


def test_nested_modes_and_groups_intersect_along_the_path(tmp_path, accounts):
    dev, staff = accounts.group("dev"), accounts.group("staff")
    alice = accounts.user("alice", groups=(dev,))
    carol = accounts.user("carol", groups=(dev, staff))  # in both groups
    dave = accounts.user("dave", groups=(dev,))
    erin = accounts.user("erin", groups=(staff,))
    bob = accounts.user("bob")
    base = _base(tmp_path)
    team = _mk(base / "team", 0o750, alice, dev)  # dev may enter, others not
    _mk(team / "notes.txt", 0o644, alice, text="team notes quince")
    private = _mk(team / "private", 0o700, alice, dev)
    _mk(private / "plans.txt", 0o666, alice, text="private plans quince")
    gated = _mk(base / "gated", 0o710, bob, dev)  # dev may pass through, nobody else (bob is not in dev)
    _mk(gated / "both.txt", 0o640, alice, staff, text="needs dev and staff quince")
    sg = _index(tmp_path, base)
    assert set(top_row(sg, team / "notes.txt")["principals"]) == {f"user:{alice.name}", f"group:{dev.name}"}
    assert top_row(sg, private / "plans.txt")["principals"] == [f"user:{alice.name}"]
    # only people in dev AND staff reach both.txt: no single group says that, so they are listed one by one
    both = set(top_row(sg, gated / "both.txt")["principals"])
    assert f"user:{carol.name}" in both
    assert not both & {"everyone", f"group:{dev.name}", f"group:{staff.name}", f"user:{dave.name}",
                       f"user:{erin.name}", f"user:{bob.name}"}, both

    def seen(user) -> set[str]:
        return {os.path.basename(h.path) for h in sg.search("quince", as_user=user.name, limit=20).hits}

    assert seen(alice) == {"notes.txt", "plans.txt", "both.txt"}  # she owns both.txt and passes gated as dev
    assert seen(carol) == {"notes.txt", "both.txt"}
    assert seen(dave) == {"notes.txt"}
    assert seen(erin) == set() and seen(bob) == set()
    sg.close()


def test_the_roots_own_ancestors_count(tmp_path, accounts):
    alice = accounts.user("alice")
    base = _base(tmp_path)
    outer = _mk(base / "outer", 0o700, alice)
    inner = _mk(outer / "inner", 0o755, alice)
    _mk(inner / "doc.txt", 0o644, alice, text="inner doc")
    sg = _index(tmp_path, inner)  # the source is inner; outer (its parent) is alice's only
    assert top_row(sg, inner / "doc.txt")["principals"] == [f"user:{alice.name}"]
    sg.close()


def test_the_odd_unix_case_group_denied_while_others_allowed(tmp_path, accounts):
    """0705: the group class is refused even though "other" may enter; ``everyone`` would let the group in."""
    dev = accounts.group("dev")
    alice = accounts.user("alice")
    dave = accounts.user("dave", groups=(dev,))
    base = _base(tmp_path)
    odd = _mk(base / "odd", 0o705, alice, dev)
    _mk(odd / "f.txt", 0o644, alice, text="odd words")
    sg = _index(tmp_path, base)
    got = top_row(sg, odd / "f.txt")["principals"]
    assert "everyone" not in got and f"group:{dev.name}" not in got and f"user:{alice.name}" in got
    assert sg.search("odd", as_user=dave.name).total == 0
    sg.close()


def test_a_folder_made_private_later_takes_its_files_with_it(tmp_path, accounts):
    """Modes change without the files changing: the next run updates who may read them."""
    alice, eve = accounts.user("alice"), accounts.user("eve")
    base = _base(tmp_path)
    box = _mk(base / "box", 0o755, alice)
    _mk(box / "letter.txt", 0o644, alice, text="letter persimmon")
    sg = _index(tmp_path, base)
    assert sg.search("persimmon", as_user=eve.name).total == 1
    box.chmod(0o700)
    sg.index()
    assert top_row(sg, box / "letter.txt")["principals"] == [f"user:{alice.name}"]
    assert sg.search("persimmon", as_user=eve.name).total == 0
    assert sg.search("persimmon", as_user=alice.name).total == 1
    sg.close()


def test_configured_users_with_raw_uids_still_match(tmp_path):
    """Files owned by a uid with no account (a restored backup): ``user:UID`` still names the owner."""
    base = _base(tmp_path)
    d = base / "restored"
    d.mkdir()
    os.chown(d, 50123, 50123)
    d.chmod(0o700)
    f = d / "old.txt"
    f.write_text("restored tamarind")
    os.chown(f, 50123, 50123)
    f.chmod(0o644)
    cfg_users = {"old": UserSettings(principals=["user:50123"]), "eve": UserSettings()}
    sg = open_sg(tmp_path / "home")
    sg.config.users = cfg_users
    sg.index([str(base)])
    assert top_row(sg, f)["principals"] == ["user:50123"]
    assert sg.search("tamarind", as_user="old").total == 1
    assert sg.search("tamarind", as_user="eve").total == 0
    sg.close()


def _posix_acl(entries: list[tuple[int, int, int]]) -> bytes:
    """The kernel's binary form of an access ACL (what ``setfacl`` writes): version 2, then (tag, perm, id)."""
    import struct

    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", t, p, i) for t, p, i in entries)


def test_an_extended_acl_refusing_a_user_is_not_read_as_everyone(tmp_path, accounts):
    """``setfacl -m u:eve:- file`` on a 0644 file: Unix refuses eve although the mode bits say "others read"."""
    import subprocess
    import sys

    alice, eve = accounts.user("alice"), accounts.user("eve")
    base = _base(tmp_path)
    f = _mk(base / "minutes.txt", 0o644, alice, text="board minutes nectarine")
    USER_OBJ, USER, GROUP_OBJ, MASK, OTHER, NO_ID = 0x01, 0x02, 0x04, 0x10, 0x20, 0xFFFFFFFF
    try:
        os.setxattr(f, "system.posix_acl_access", _posix_acl([
            (USER_OBJ, 6, NO_ID), (USER, 0, eve.uid), (GROUP_OBJ, 4, NO_ID), (MASK, 4, NO_ID), (OTHER, 4, NO_ID)]))
    except OSError as exc:
        import pytest

        pytest.skip(f"the temporary folder's file system takes no POSIX ACLs: {exc}")
    probe = "import sys\ntry:\n    open(sys.argv[1]).read(); print('read')\nexcept PermissionError: print('refused')"
    out = subprocess.run(["setpriv", f"--reuid={eve.uid}", f"--regid={eve.gid}", "--clear-groups", sys.executable,
                          "-c", probe, str(f)], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "refused", out  # the kernel enforces the ACL
    sg = _index(tmp_path, base)
    assert top_row(sg, f)["principals"] == [f"user:{alice.name}"]
    assert sg.search("nectarine", as_user=eve.name).total == 0
    sg.close()
