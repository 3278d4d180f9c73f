"""13.1 (walk side): a symbolic link that leaves an indexed root is not followed unless the source says so.

The attack: a member who can write into an indexed folder plants ``ln -s /etc sys`` (or a link to another user's
file); the indexer, running with its own privileges, reads what the link points at and labels it with the
permissions it finds there. Links inside the root keep working.
"""

from __future__ import annotations

import os
from pathlib import Path

from .secutil import cli, keyword_home, open_sg, rows, texts, top_row


def _tree(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "docs"
    outside = tmp_path / "elsewhere"
    (root / "sub").mkdir(parents=True)
    outside.mkdir()
    (root / "sub" / "inside.txt").write_text("inside words heliotrope")
    (outside / "secret.txt").write_text("outside secret xylograph")
    (outside / "more").mkdir()
    (outside / "more" / "deep.txt").write_text("outside deep quillwort")
    return root, outside


def test_links_leaving_the_root_are_not_followed_and_are_recorded(tmp_path):
    root, outside = _tree(tmp_path)
    (root / "sys").symlink_to("/etc", target_is_directory=True)  # the 1,072-system-files attack
    (root / "elsewhere").symlink_to(outside, target_is_directory=True)
    (root / "secret-link.txt").symlink_to(outside / "secret.txt")
    (root / "dotdot").symlink_to("../elsewhere/more", target_is_directory=True)  # relative, still outside
    sg = open_sg(tmp_path / "home")
    sg.index([str(root)])
    held = texts(sg)
    assert "heliotrope" in held
    assert "xylograph" not in held and "quillwort" not in held
    assert not rows(sg, "path LIKE ?", (f"{root}/sys/%",)), "files under /etc were indexed through a link"
    for name, target in (("sys", "/etc"), ("elsewhere", str(outside)), ("secret-link.txt", str(outside / "secret.txt")),
                         ("dotdot", str(outside / "more"))):
        r = top_row(sg, root / name)
        assert r["status"] == "error" and r["error_kind"] == "outside-root", r
        assert target in r["error"] and "--follow-links-outside" in r["error"], r["error"]
        assert r["principals"] == [], "a refused link must not be findable by anyone but an administrator"
    sg.close()


def test_links_inside_the_root_still_work(tmp_path):
    root, _ = _tree(tmp_path)
    (root / "alias.txt").symlink_to(root / "sub" / "inside.txt")
    (root / "also-sub").symlink_to("sub", target_is_directory=True)
    (root / "sub" / "up").symlink_to("..", target_is_directory=True)  # a loop inside the root: walked once
    sg = open_sg(tmp_path / "home")
    stats = sg.index([str(root)])
    assert stats.failed == 0
    names = {r["path"] for r in rows(sg, "parent_id IS NULL")}
    assert str(root / "alias.txt") in names and str(root / "sub" / "inside.txt") in names
    sg.close()


def test_follow_links_outside_is_a_per_source_choice_kept_with_the_source(tmp_path):
    root, outside = _tree(tmp_path)
    (root / "elsewhere").symlink_to(outside, target_is_directory=True)
    other, _ = _tree(tmp_path / "second")
    (other / "elsewhere").symlink_to(outside, target_is_directory=True)
    sg = open_sg(tmp_path / "home")
    sg.index([str(root)], follow_links_outside=True)
    sg.index([str(other)])
    assert "xylograph" in texts(sg)
    assert top_row(sg, root / "elsewhere" / "secret.txt")["status"] == "ok"
    assert top_row(sg, other / "elsewhere")["error_kind"] == "outside-root"
    sg.close()
    sg = open_sg(tmp_path / "home")
    sg.index()  # every source again, each with the choice it was added with
    assert top_row(sg, root / "elsewhere" / "secret.txt")["status"] == "ok"
    assert top_row(sg, other / "elsewhere")["error_kind"] == "outside-root"
    assert {s.root: s.follow_links_outside for s in sg.sources()} == {str(root): True, str(other): False}
    sg.close()


def test_cli_flag_follows_links_outside(tmp_path):
    root, outside = _tree(tmp_path)
    (root / "elsewhere").symlink_to(outside, target_is_directory=True)
    home = keyword_home(tmp_path / "home")
    out = cli("index", str(root), "--home", str(home), "--json")
    assert out.returncode == 0, out.stderr
    sg = open_sg(home)
    assert "xylograph" not in texts(sg)
    sg.close()
    out = cli("index", str(root), "--follow-links-outside", "--home", str(home), "--json")
    assert out.returncode == 0, out.stderr
    sg = open_sg(home)
    assert "xylograph" in texts(sg)
    sg.close()


def test_watch_path_refuses_a_link_leaving_the_root(tmp_path):
    """``watch`` looks at single paths: a link created later that leaves the root is refused the same way."""
    from spyglass.sources.folder import stat_entry

    root, outside = _tree(tmp_path)
    link = root / "late.txt"
    link.symlink_to(outside / "secret.txt")
    e = stat_entry(str(link), root=str(root), follow_outside=False)
    assert e.error is not None and e.error[0] == "outside-root"
    inside = stat_entry(str(root / "sub" / "inside.txt"), root=str(root), follow_outside=False)
    assert inside.error is None


def test_file_entries_carry_device_and_inode(tmp_path):
    from spyglass.core.config import IndexSettings
    from spyglass.sources.folder import walk

    root, _ = _tree(tmp_path)
    (root / "alias.txt").symlink_to(root / "sub" / "inside.txt")
    entries = {e.path: e for e in walk(str(root), IndexSettings())}
    for path, e in entries.items():
        st = os.stat(path)
        assert (e.st_dev, e.st_ino) == (st.st_dev, st.st_ino), path
    assert entries[str(root / "alias.txt")].st_ino == entries[str(root / "sub" / "inside.txt")].st_ino


def test_a_file_swapped_for_a_link_after_the_walk_is_not_read(tmp_path):
    """Between the walk and the read, a member replaces an indexed file with a link to a secret: the extraction
    process checks that what it opened is the file the walk saw (device and inode) and reads nothing else."""
    from spyglass.core.config import IndexSettings, LimitSettings
    from spyglass.extraction.worker import Task, process
    from spyglass.sources.folder import walk

    root, outside = _tree(tmp_path)
    f = root / "report.txt"
    f.write_text("the real report")
    (e,) = [x for x in walk(str(root), IndexSettings()) if x.path == str(f)]
    f.unlink()
    f.symlink_to(outside / "secret.txt")
    task = Task(key=1, path=e.path, name=e.name, kind=("text", "spyglass.extraction.text:extract_text"),
                st_dev=e.st_dev, st_ino=e.st_ino)
    res = process(task, LimitSettings(), 300)
    assert res.status == "error" and res.error[0] == "changed", res
    assert not res.docs
