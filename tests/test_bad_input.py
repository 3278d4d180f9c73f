"""Bad input gets a clear error and loses nothing: each bad file is recorded with its reason and skipped, the good
file next to it is indexed, and no source file is modified."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import keyword_config, keyword_home
from fixtures import write_docx, write_pdf, zip_bomb

from spyglass.app.spyglass import Spyglass
from spyglass.core.config import Config


def _snapshot(root: Path) -> dict[str, tuple[str, int]]:
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.is_symlink() and p.stat().st_size < 50_000_000:
            try:
                out[str(p)] = (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            except PermissionError:
                pass
    return out


def _index_one(tmp_path: Path, make, config: Config | None = None):
    """Write a bad file (``make(root)`` returns its name) beside a good one, index, return (status failure, sg)."""
    root = tmp_path / "docs"
    root.mkdir()
    (root / "good.txt").write_text("the good file says sunflower")
    name = make(root)
    before = _snapshot(root)
    cfg = config or keyword_config()
    sg = Spyglass(tmp_path / "home", config=cfg)
    stats = sg.index([str(root)])
    assert sg.search("sunflower").total == 1, "the good file must be indexed"
    assert _snapshot(root) == before, "a source file was modified"
    failures = [f for f in sg.status()["failures"] if f["path"].endswith(name)]
    return failures, stats, sg


def _check(failures, kind: str, words: str) -> None:
    assert len(failures) == 1, failures
    assert failures[0]["kind"] == kind, failures
    assert words in failures[0]["reason"].lower(), failures


def test_corrupt_pdf(tmp_path):
    def make(root):
        (root / "broken.pdf").write_bytes(b"%PDF-1.7\n this is not really a pdf \x00\x01\x02 garbage")
        return "broken.pdf"

    failures, stats, _ = _index_one(tmp_path, make)
    _check(failures, "corrupt", "pdf")
    assert stats.failed == 1


def test_truncated_pdf(tmp_path):
    def make(root):
        write_pdf(root / "full.pdf", ["some page text"] * 3)
        data = (root / "full.pdf").read_bytes()
        (root / "full.pdf").unlink()
        (root / "truncated.pdf").write_bytes(data[: len(data) // 3])
        return "truncated.pdf"

    failures, _, sg = _index_one(tmp_path, make)
    # PDFium repairs some truncated files; either it is read or it is reported, never a crash
    if failures:
        _check(failures, "corrupt", "pdf")


def test_password_protected_pdf(tmp_path):
    def make(root):
        write_pdf(root / "secret.pdf", ["classified words"], encrypt="hunter2")
        return "secret.pdf"

    failures, _, sg = _index_one(tmp_path, make)
    _check(failures, "encrypted", "password")
    assert sg.search("secret").total == 1  # still findable by its name


def test_password_protected_office(tmp_path):
    def make(root):
        # Encrypted OOXML is an OLE compound file with an EncryptedPackage stream
        (root / "locked.docx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 4096)
        return "locked.docx"

    failures, _, _ = _index_one(tmp_path, make)
    _check(failures, "encrypted", "password")


def test_corrupt_office(tmp_path):
    def make(root):
        write_docx(root / "whole.docx", ["text"])
        data = (root / "whole.docx").read_bytes()
        (root / "whole.docx").unlink()
        (root / "cut.docx").write_bytes(data[: len(data) // 2])
        return "cut.docx"

    failures, _, _ = _index_one(tmp_path, make)
    _check(failures, "corrupt", "zip")


def test_archive_that_expands_enormously(tmp_path):
    def make(root):
        zip_bomb(root / "bomb.zip", mb=64)
        shutil.copy(root / "bomb.zip", root / "bomb.docx")
        return "bomb.zip"

    failures, _, sg = _index_one(tmp_path, make)
    _check(failures, "archive-bomb", "expands")
    docx = [f for f in sg.status()["failures"] if f["path"].endswith("bomb.docx")]
    _check(docx, "archive-bomb", "expands")


def test_empty_file(tmp_path):
    def make(root):
        (root / "empty.txt").touch()
        return "empty.txt"

    failures, _, _ = _index_one(tmp_path, make)
    _check(failures, "empty", "0 bytes")


def test_multi_gigabyte_file(tmp_path):
    def make(root):
        with open(root / "huge.log", "wb") as fh:  # sparse: 3 GB on paper, nothing on disk
            fh.truncate(3 * 1024**3)
        return "huge.log"

    failures, _, _ = _index_one(tmp_path, make)
    _check(failures, "too-large", "limit")
    assert "3.0 GB" in failures[0]["reason"]


def test_size_limit_is_configurable(tmp_path):
    cfg = keyword_config()
    cfg.limits.max_file_mb = 0.001

    def make(root):
        (root / "medium.txt").write_text("x " * 5000)
        return "medium.txt"

    failures, _, _ = _index_one(tmp_path, make, cfg)
    _check(failures, "too-large", "limits.max_file_mb")


def test_binary_junk_named_txt(tmp_path):
    def make(root):
        (root / "junk.txt").write_bytes(os.urandom(20000))
        return "junk.txt"

    failures, _, _ = _index_one(tmp_path, make)
    _check(failures, "binary", "binary")


def test_broken_symlink(tmp_path):
    def make(root):
        (root / "dangling.txt").symlink_to(root / "nowhere.txt")
        return "dangling.txt"

    failures, _, _ = _index_one(tmp_path, make)
    _check(failures, "broken-link", "nowhere.txt")


def test_per_file_time_limit(tmp_path, monkeypatch):
    """A file whose extraction hangs is stopped at the time limit and reported; the run goes on."""
    cfg = keyword_config()
    cfg.limits.timeout_s = 1.0

    def make(root):
        # a CSV the sniffer spends a long time on is not reliable; use a registered slow extractor instead
        (root / "slow.slowfmt").write_text("content")
        return "slow.slowfmt"

    from spyglass.extraction import registry

    monkeypatch.setitem(registry.REGISTRY, ".slowfmt", ("text", "spyglass_test_slow:extract"))
    plugin = tmp_path / "plugin"
    plugin.mkdir()
    (plugin / "spyglass_test_slow.py").write_text(
        "import time\ndef extract(blob, ctx):\n    time.sleep(60)\n")
    monkeypatch.syspath_prepend(str(plugin))
    monkeypatch.setenv("PYTHONPATH", f"{plugin}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    failures, _, _ = _index_one(tmp_path, make, cfg)
    _check(failures, "timeout", "limits.timeout_s")


def test_unreadable_permissions(tmp_path):
    """A file the indexing user may not read. Root reads everything, so as root the run drops the capabilities
    that bypass file permissions (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH)."""
    root = tmp_path / "docs"
    root.mkdir()
    (root / "good.txt").write_text("the good file says sunflower")
    secret = root / "private.txt"
    secret.write_text("private words")
    secret.chmod(0o000)
    home = keyword_home(tmp_path / "home")
    cmd = [sys.executable, "-m", "spyglass", "index", str(root), "--home", str(home), "--json"]
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv")
        cmd = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", *cmd]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    sg = Spyglass(home, config=keyword_config())
    failures = [f for f in sg.status()["failures"] if f["path"].endswith("private.txt")]
    _check(failures, "permission", "permission denied")
    assert sg.search("sunflower").total == 1
    assert sg.search("private").total == 1  # findable by name, its content unread
    sg.close()
    secret.chmod(0o600)


def test_symlink_loop_is_safe(tmp_path):
    def make(root):
        (root / "sub").mkdir()
        (root / "sub" / "inner.txt").write_text("inside loop marigold")
        (root / "sub" / "loop").symlink_to(root, target_is_directory=True)
        return "nothing-fails"

    failures, stats, sg = _index_one(tmp_path, make)
    assert sg.search("marigold").total == 1
    assert stats.failed == 0


def test_run_goes_on_after_many_bad_files(tmp_path):
    root = tmp_path / "docs"
    root.mkdir()
    for i in range(20):
        (root / f"bad{i}.pdf").write_bytes(os.urandom(500))
        (root / f"good{i}.txt").write_text(f"good document number{i} tulip")
    sg = Spyglass(tmp_path / "home", config=keyword_config())
    stats = sg.index([str(root)])
    assert stats.failed == 20 and stats.added == 20
    assert sg.search("tulip").total == 20
    assert sg.status()["failure_reasons"] == {"corrupt": 20}
