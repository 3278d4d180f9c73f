"""Every command the README shows works as written: the ``sh`` blocks are parsed and each command runs, in order,
in a new user's HOME that holds the files the examples name (~/Documents, ~/mail/archive.mbox, a Slack export, a
photo). Long-running commands (watch, serve) are started and stopped once they are up; a few are skipped, each
for a stated reason.

To stay fast the data directory is keyword-only (every command loading the embedding model costs seconds), so the
two commands that need vectors are skipped; SPYGLASS_TEST_README_FULL=1 runs everything with semantic search on."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

# command prefix -> why the test does not run it
SKIP = {
    "./quickstart": "tests/test_quickstart.py runs it on a small folder",
    "./run-tests": "this is the test suite",
    "scripts/bootstrap.sh --with": "installs packages into .venv: tests/test_install.py runs it in a fresh clone "
                                   "(SPYGLASS_TEST_FRESH_INSTALL=1)",
    "spyglass eval beir": "indexes SciFact (minutes); its registry rows run in tests/test_evaluation.py and "
                          "tests/test_cli.py runs eval beir on a small dataset by name",
    "spyglass eval check": "re-runs every registry row (an hour); its CI rows run in tests/test_evaluation.py",
}
FULL = os.environ.get("SPYGLASS_TEST_README_FULL") == "1"
if not FULL:
    SKIP.update({cmd: "needs the embedding model (seconds per command): SPYGLASS_TEST_README_FULL=1 runs it; "
                      "tests/test_semantic.py and tests/test_organize.py cover it"
                 for cmd in ("spyglass search 'ways to cut cloud costs' --mode semantic", "spyglass topics")})
# commands that a new user's data directory cannot satisfy yet: they must refuse with one clear line (exit 2)
NEEDS_USE = {"spyglass train ranker": "trains only once enough searches with opened results are logged"}
# long-running commands: started, then stopped once this appears on their output
SERVICES = {"spyglass watch": "Watching for changes", "spyglass serve": "Spyglass at"}


def readme_commands() -> list[str]:
    """The commands of the README's ``sh`` blocks, in order, without their trailing comments."""
    cmds = []
    for block in re.findall(r"```sh\n(.*?)```", README.read_text(), re.S):
        for line in block.splitlines():
            cmd = re.split(r"\s{2,}#", line)[0].strip()
            if cmd and not cmd.startswith("#"):
                cmds.append(cmd)
    return cmds


def python_example() -> str:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)[0]


def make_home(home: Path) -> None:
    """The files the README's examples name, in a new user's HOME."""
    docs = home / "Documents"
    (docs / "finance").mkdir(parents=True)
    (docs / "budget.md").write_text("# Quarterly budget review\n\nThe quarterly budget review moves to Friday. "
                                    "Ways to cut cloud costs: reserved instances, fewer idle servers.\n")
    (docs / "roadmap.txt").write_text("Roadmap for 2025: search, organize, the web app.\n")
    (docs / "finance" / "invoice-4471.txt").write_text("Invoice 4471 for consulting, final version.\n")
    (docs / "finance" / "invoice-draft.txt").write_text("Invoice draft, not sent.\n")
    (docs / "notes.md").write_text("Budget notes: the budgett spreadsheet has a typo in its name.\n")
    _pdf(docs / "report.pdf", "Quarterly report: the budget review and the roadmap.")
    mail = home / "mail"
    mail.mkdir()
    (mail / "archive.mbox").write_text(
        "From alice@example.com Mon Jan  1 00:00:00 2024\nFrom: Alice <alice@example.com>\nTo: Bob <bob@example.com>\n"
        "Subject: Budget review\nDate: Mon, 1 Jan 2024 10:00:00 +0000\n\nThe budget review is on Friday.\n\n"
        "From alice@example.com Tue Jan  2 00:00:00 2024\nFrom: Alice <alice@example.com>\nTo: Bob <bob@example.com>\n"
        "Subject: Roadmap\nDate: Tue, 2 Jan 2024 10:00:00 +0000\n\nThe roadmap review is on Monday.\n")
    _slack_export(home / "slack-export.zip")
    (home / "Downloads").mkdir()
    _pdf(home / "Downloads" / "invoice.pdf", "Invoice 9 for consulting services.")
    (home / "Pictures").mkdir()
    from PIL import Image

    img = Image.new("RGB", (64, 48), "white")
    for x in range(20, 40):
        for y in range(10, 30):
            img.putpixel((x, y), (200, 30, 30))
    img.save(home / "Pictures" / "IMG_0042.jpg")
    img.resize((32, 24)).save(docs / "IMG_0042-small.jpg")


def _pdf(path: Path, text: str) -> None:
    pytest.importorskip("reportlab", reason="reportlab (the test extra) writes the example PDFs")
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    c.drawString(72, 720, text)
    c.save()


def _slack_export(path: Path) -> None:
    users = [{"id": "U1", "name": "alice", "profile": {"email": "alice@example.com"}}]
    channels = [{"id": "C1", "name": "general", "members": ["U1"]}]
    day = [{"type": "message", "user": "U1", "text": "The roadmap review is on Monday.", "ts": "1704103200.000100"}]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("users.json", json.dumps(users))
        z.writestr("channels.json", json.dumps(channels))
        z.writestr("general/2024-01-01.json", json.dumps(day))
    path.write_bytes(buf.getvalue())


@pytest.fixture(scope="module")
def user_env(tmp_path_factory) -> tuple[dict[str, str], Path]:
    base = tmp_path_factory.mktemp("readme")
    home = base / "home"
    make_home(home)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPYGLASS_")}
    spyglass_bin = Path(sys.executable).parent  # where `spyglass` is installed beside this Python
    if not (spyglass_bin / "spyglass").exists():
        pytest.skip(f"no spyglass command beside {sys.executable}: install Spyglass into this environment")
    if not FULL:  # the default data directory, keyword-only
        data = home / ".local" / "share" / "spyglass"
        data.mkdir(parents=True)
        (data / "config.toml").write_text("[embedding]\nenabled = false\n")
    env.update(HOME=str(home), PATH=f"{spyglass_bin}:{env.get('PATH', '')}", COLUMNS="160",
               SPYGLASS_PASSWORD="a long enough password")  # what `users add` reads without a terminal
    work = base / "work"
    work.mkdir()
    return env, work


def _run_service(cmd: str, ready: str, env: dict, cwd: Path) -> None:
    port = []
    if cmd.startswith("spyglass serve"):
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = ["--port", str(s.getsockname()[1])]
    proc = subprocess.Popen(["bash", "-c", f"exec {cmd} {' '.join(port)}"], env=env, cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    seen = ""
    try:
        deadline = time.monotonic() + 120
        while ready not in seen and time.monotonic() < deadline and proc.poll() is None:
            line = proc.stdout.readline()
            seen += line
        assert ready in seen, f"{cmd}: {seen}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_readme_lists_commands():
    cmds = readme_commands()
    assert len(cmds) > 25 and cmds[0].startswith("./quickstart")


def test_every_readme_command_works_as_written(user_env):
    env, work = user_env
    ran, skipped = [], []
    for cmd in readme_commands():
        why = next((w for p, w in SKIP.items() if cmd.startswith(p)), None)
        if why:
            skipped.append((cmd, why))
            continue
        service = next((r for p, r in SERVICES.items() if cmd.startswith(p)), None)
        if service:
            _run_service(cmd, service, env, work)
            ran.append(cmd)
            continue
        res = subprocess.run(["bash", "-c", f"set -euo pipefail; {cmd}"], env=env, cwd=work, capture_output=True,
                             text=True, timeout=300)
        if any(cmd.startswith(p) for p in NEEDS_USE) and res.returncode == 2:
            assert res.stderr.startswith("error: ") and len(res.stderr.splitlines()) == 1, res.stderr
        else:
            assert res.returncode == 0, f"{cmd}\n{res.stdout}\n{res.stderr}"
        assert "Traceback" not in res.stderr, f"{cmd}\n{res.stderr}"
        ran.append(cmd)
    print(f"ran {len(ran)} README commands; skipped {len(skipped)}: {skipped}")
    assert len(ran) > 25


def test_readme_python_example_works(user_env):
    env, work = user_env
    res = subprocess.run([sys.executable, "-c", python_example()], env=env, cwd=work, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr
