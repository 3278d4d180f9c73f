"""The first command of the README: ``./quickstart FOLDER "query"`` sets up, indexes, searches and says what next."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"


def venv_matches_checkout() -> bool:
    """Whether bootstrap would find .venv up to date for this checkout's pyproject.toml and constraints.txt (CI: yes;
    a worktree sharing another checkout's .venv: no, and then it must not reinstall that environment)."""
    stamp = VENV / ".spyglass-installed"
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + (ROOT / "constraints.txt").read_bytes())
    return stamp.is_file() and stamp.read_text().startswith(want.hexdigest()[:16] + "-")


def quickstart_env(tmp_path: Path) -> dict[str, str]:
    """A new user's environment: an empty HOME and data directory; keyword only (no embedding) to stay fast."""
    home, data = tmp_path / "userhome", tmp_path / "data"
    home.mkdir()
    data.mkdir()
    (data / "config.toml").write_text("[embedding]\nenabled = false\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPYGLASS_")}
    env.update(HOME=str(home), SPYGLASS_HOME=str(data), COLUMNS="100")
    if not venv_matches_checkout():
        env["SPYGLASS_SKIP_INSTALL"] = "1"
    return env


@pytest.mark.skipif(not (VENV / "bin" / "spyglass").exists(),
                    reason=f"no {VENV}/bin/spyglass: run ./run-tests (or scripts/bootstrap.sh) to create the checkout's "
                           ".venv that quickstart uses")
def test_quickstart_indexes_searches_and_says_what_next(tmp_path: Path):
    docs = tmp_path / "My Documents"
    docs.mkdir()
    (docs / "budget.md").write_text("# Budget review\n\nThe quarterly budget review moves to Friday.\n")
    (docs / "notes.txt").write_text("Lunch with the design team; nothing about money.\n")
    (docs / "page.html").write_text("<html><body><article><p>Agenda of the budget review: travel costs, "
                                    "hiring.</p></article></body></html>")
    res = subprocess.run([str(ROOT / "quickstart"), str(docs), "budget review"], capture_output=True, text=True,
                         env=quickstart_env(tmp_path), cwd=tmp_path, timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout
    assert "3 documents (3 with text" in out  # status: the html page too (lxml_html_clean declared)
    assert "of 2 results for budget review" in out
    assert "budget.md" in out and "page.html" in out and "notes.txt" not in out.split("results for budget review")[1]
    assert "with the extras:" in out and "--with EXTRA" in out
    assert "users add admin --admin" in out and "serve" in out
    assert "Traceback" not in res.stderr


def test_quickstart_refuses_a_missing_folder_with_its_usage(tmp_path: Path):
    res = subprocess.run([str(ROOT / "quickstart"), str(tmp_path / "nope")], capture_output=True, text=True,
                         env=quickstart_env(tmp_path), timeout=60)
    assert res.returncode == 2
    assert "no such folder" in res.stderr and "usage: ./quickstart" in res.stderr
