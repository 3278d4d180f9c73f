"""Indexing a folder of hostile and broken files with embeddings on: peak memory and time (a measurement, not a test).

    .venv/bin/python benchmarks/bench_bad_input.py --build-only      # write the folder first (I/O, ~1 min)
    flock /work/bench.lock nice -n 5 .venv/bin/python benchmarks/bench_bad_input.py
    .venv/bin/python benchmarks/bench_bad_input.py --keep      # keep the folder (benchmarks/out/bad-input)

Builds the folder (about 300 MB: a 50 MB single-row CSV, a 200 MB text file, a 4 MB JSON string, a 2 MB JSON
array, a 1 MB NDJSON file, a 5 MB run without spaces, a zip bomb, a zip of zips, 30,000 zip members, a 50,000-level
nested JSON, 300 nested folders, a billion-laughs XML, a PNG declaring 2.5 gigapixels, random bytes under text names,
a corrupt and a truncated PDF, a mailbox of 2,000 messages sharing Message-IDs in pairs, a FIFO, a link to a device
and a link out of the folder), then runs ``spyglass index`` through the command line in a fresh data directory with the default
configuration (embeddings on) and samples, every 0.1 s, the resident memory of the indexing process itself (the
"parent", plus its kernel high-water mark VmHWM), of each extraction process and of the whole process tree. Prints
one JSON line; the target is a parent peak under 1 GB.

Two files hit the 16 MB text cap (the CSV and the text file: about 24,000 passages between them), so the embedding
pass is long on a shared 2-core machine; ``--max-minutes`` stops the run there (SIGINT, as Ctrl-C) and the JSON says
how many passages were embedded by then (``stopped``). The embedding pass works in bounded batches, so its memory is
flat after the first ones.
"""

from __future__ import annotations

import argparse
import io
import json
import mailbox
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from email.message import EmailMessage
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
MB = 1024 * 1024


def _words(n_bytes: int, sep: str = " ", seed: int = 1) -> str:
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(5000)]
    parts, size = [], 0
    while size < n_bytes:
        chunk = sep.join(rng.choices(vocab, k=10000))
        parts.append(chunk)
        size += len(chunk) + 1
    return sep.join(parts)[:n_bytes]


def _png_bomb(path: Path) -> None:
    """A valid PNG header declaring 50,000 × 50,000 pixels with a tiny compressed body."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", 50000, 50000, 8, 0, 0, 0, 0)
    body = zlib.compress(b"\0" * (50001 * 16))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b""))


def _zip_bomb(path: Path, mb: int = 1024) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("zeros.txt", "w", force_zip64=True) as fh:
            block = b"\0" * MB
            for _ in range(mb):
                fh.write(block)
    path.write_bytes(buf.getvalue())


def _nested_zip(path: Path, depth: int = 8) -> None:
    data = b"innermost words of a nested archive"
    name = "inner.txt"
    for i in range(depth):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(name, data)
        data, name = buf.getvalue(), f"level{i}.zip"
    path.write_bytes(data)


def _many_members(path: Path, n: int = 30000) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for i in range(n):
            zf.writestr(f"m/{i}.txt", f"member {i}")


def _mailbox(path: Path, n: int = 2000) -> None:
    box = mailbox.mbox(str(path))
    box.lock()
    for i in range(n):
        m = EmailMessage()
        m["From"], m["To"] = f"user{i % 50}@example.com", f"user{(i + 1) % 50}@example.com"
        m["Subject"] = f"message {i}"
        m["Message-ID"] = f"<id{i // 2}@example.com>"  # each id twice
        m.set_content(f"body of message {i} " + _words(600, seed=i))
        box.add(m)
    box.flush()
    box.unlock()
    box.close()


def build(folder: Path) -> None:
    if (folder / ".complete").exists():
        return
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / "good.txt").write_text("an ordinary file among the bad ones: sunflower")
    (folder / "one-row.csv").write_text(_words(50 * MB, sep=","))
    (folder / "huge.txt").write_text(_words(200 * MB))
    (folder / "no-spaces.txt").write_text("x" * (5 * MB))
    rng = random.Random(7)
    (folder / "array.json").write_text(json.dumps([{"id": i, "text": _words(200, seed=i)}
                                                   for i in range(2 * MB // 260)]))
    (folder / "one-value.json").write_text(json.dumps({"v": _words(4 * MB)}))
    (folder / "deep.json").write_text("[" * 50000 + "]" * 50000)
    (folder / "lines.ndjson").write_text("\n".join(json.dumps({"n": i, "t": _words(300, seed=i)})
                                                   for i in range(1 * MB // 330)))
    (folder / "laughs.xml").write_text(
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i else "&lol;" * 10}">' for i in range(10))
        + ']><lolz>&lol9;</lolz>')
    (folder / "junk.txt").write_bytes(rng.randbytes(20 * MB))
    (folder / "junk.pdf").write_bytes(b"%PDF-1.7\n" + rng.randbytes(5 * MB))
    (folder / "truncated.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n" * 10)
    (folder / "junk.unknownext").write_bytes(rng.randbytes(MB))
    _png_bomb(folder / "bomb.png")
    _zip_bomb(folder / "bomb.zip")
    _nested_zip(folder / "nested.zip")
    _many_members(folder / "members.zip")
    _mailbox(folder / "big.mbox")
    deep = folder
    for i in range(300):
        deep = deep / f"d{i}"
    deep.mkdir(parents=True)
    (deep / "bottom.txt").write_text("at the bottom of 300 folders")
    os.mkfifo(folder / "pipe.txt")
    (folder / "zero.txt").symlink_to("/dev/zero")
    (folder / "etc").symlink_to("/etc", target_is_directory=True)
    (folder / ".complete").write_text("1")


def _embedded(home: Path) -> int:
    import sqlite3

    try:
        db = sqlite3.connect(f"file:{home / 'catalog.sqlite3'}?mode=ro", uri=True, timeout=5)
        try:
            return db.execute("SELECT count(*) FROM embeddings").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def measure(folder: Path, home: Path, max_minutes: float = 0.0) -> dict:
    if home.exists():
        shutil.rmtree(home)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    cmd = [sys.executable, "-m", "spyglass", "index", str(folder), "--home", str(home), "--json", "--wait"]
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    proc = psutil.Process(p.pid)
    parent = parent_hwm = worker = tree = 0
    stopped = False
    while p.poll() is None:
        if max_minutes and not stopped and time.perf_counter() - t0 > max_minutes * 60:
            p.send_signal(signal.SIGINT)  # as Ctrl-C: the run stops where it is, the data directory stays usable
            stopped = True
        try:
            kids = proc.children(recursive=True)
            parent = max(parent, proc.memory_info().rss)
            with open(f"/proc/{p.pid}/status") as fh:
                for line in fh:
                    if line.startswith("VmHWM:"):
                        parent_hwm = max(parent_hwm, int(line.split()[1]) * 1024)
            rss = [k.memory_info().rss for k in kids]
            worker = max([worker, *rss])
            tree = max(tree, parent + sum(rss))
        except (psutil.Error, OSError):
            pass
        time.sleep(0.1)
    out, err = p.communicate()
    seconds = time.perf_counter() - t0
    if stopped:
        stats = {"scanned": None, "documents": None, "passages": None, "failed": None, "errors": None,
                 "semantic": {"passages": _embedded(home)}}
    elif p.returncode != 0:
        raise SystemExit(f"index failed ({p.returncode}): {err[-2000:]}")
    else:
        stats = json.loads(out)
    status = json.loads(subprocess.run([sys.executable, "-m", "spyglass", "status", "--home", str(home), "--json"],
                                       capture_output=True, text=True, env=env, check=True).stdout)
    return {
        "seconds": round(seconds, 1),
        "stopped": stopped,
        "passages_in_catalog": status["passages"],
        "parent_peak_rss_mb": round(max(parent, parent_hwm) / MB),
        "worker_peak_rss_mb": round(worker / MB),
        "tree_peak_rss_mb": round(tree / MB),
        "files": stats["scanned"], "documents": stats["documents"], "passages": stats["passages"],
        "failed": stats["failed"], "errors": stats["errors"],
        "embedded_passages": stats["semantic"].get("passages"),
        "embedding_seconds": stats["semantic"].get("seconds"),
        "failure_reasons": status["failure_reasons"],
        "folder_mb": round(sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink())
                           / MB),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folder", type=Path, default=OUT / "bad-input")
    ap.add_argument("--keep", action="store_true", help="keep the folder and the data directory")
    ap.add_argument("--build-only", action="store_true", help="only write the folder (outside the bench lock)")
    ap.add_argument("--max-minutes", type=float, default=0.0, help="stop the run after this long (0: let it finish)")
    args = ap.parse_args()
    build(args.folder)
    if args.build_only:
        return
    home = OUT / "bad-input-home"
    res = measure(args.folder, home, args.max_minutes)
    res.update(cpus=os.cpu_count(), python=sys.version.split()[0])
    print(json.dumps(res))
    if not args.keep:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
