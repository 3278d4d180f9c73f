"""Indexing and keyword-query benchmark (a measurement, not a test).

    .venv/bin/python benchmarks/bench_index.py scifact           # SciFact's 5,183 abstracts as .txt files
    .venv/bin/python benchmarks/bench_index.py synthetic --docs 100000
    .venv/bin/python benchmarks/bench_index.py recoll            # Recoll on the same SciFact folder

Each run indexes with the real CLI in a subprocess (end to end: walk, extraction workers, catalog, tantivy),
samples the resident memory of the whole process tree, then times queries through the library. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
from spyglass.evaluation.registry import data_dir  # noqa: E402
SHARED = data_dir().parent  # $SPYGLASS_DATA/.. or ../shared
OUT = ROOT / "benchmarks" / "out"


def write_scifact(folder: Path) -> int:
    if folder.exists():
        return len(list(folder.iterdir()))
    folder.mkdir(parents=True)
    n = 0
    with open(SHARED / "data/beir/scifact/corpus.jsonl") as fh:
        for line in fh:
            d = json.loads(line)
            (folder / f"{d['_id']}.txt").write_text(f"{d['title']}\n\n{d['text']}\n")
            n += 1
    return n


def vocabulary() -> list[str]:
    words: dict[str, int] = {}
    with open(SHARED / "data/beir/scifact/corpus.jsonl") as fh:
        for line in fh:
            for w in json.loads(line)["text"].lower().split():
                w = w.strip(".,;:()[]\"'")
                if w.isalpha():
                    words[w] = words.get(w, 0) + 1
    return [w for w, _ in sorted(words.items(), key=lambda x: -x[1])]


def write_synthetic(folder: Path, n: int, size: int = 5000) -> int:
    marker = folder / ".complete"
    if marker.exists() and int(marker.read_text()) == n:
        return n
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    vocab = vocabulary()
    rng = random.Random(42)
    weights = [1 / (r + 1) for r in range(len(vocab))]  # Zipf
    cum = []
    acc = 0.0
    for w in weights:
        acc += w
        cum.append(acc)
    for i in range(n):
        sub = folder / f"d{i // 1000:03d}"
        if i % 1000 == 0:
            sub.mkdir()
        words = rng.choices(vocab, cum_weights=cum, k=size // 6)
        text = " ".join(words)
        ext = ".md" if i % 2 else ".txt"
        (sub / f"doc{i:06d}{ext}").write_text(f"Document {i}\n\n{text[:size]}\n")
    marker.write_text(str(n))
    return n


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def run_measured(cmd: list[str], env: dict | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes, summed over the process tree) of a command."""
    import tempfile

    errf = tempfile.TemporaryFile()
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=errf)
    proc = psutil.Process(p.pid)
    peak = peak_anon = 0
    while p.poll() is None:
        try:
            procs = [proc, *proc.children(recursive=True)]
            infos = [x.memory_info() for x in procs if x.is_running()]
            peak = max(peak, sum(i.rss for i in infos))
            # resident memory minus file-backed pages (mmap'd index segments the kernel can drop at will)
            peak_anon = max(peak_anon, sum(i.rss - i.shared for i in infos))
        except psutil.Error:
            pass
        time.sleep(0.1)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        errf.seek(0)
        raise SystemExit(f"{cmd[0]} failed: {errf.read().decode(errors='replace')[-2000:]}")
    return wall, peak, peak_anon


def dir_size(p: Path) -> int:
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())


def query_latency(home: Path, queries: list[str]) -> dict:
    sys.path.insert(0, str(ROOT / "src"))
    from spyglass.app.spyglass import Spyglass

    sg = Spyglass(home)
    for q in queries[:20]:
        sg.search(q)
    times = []
    for q in queries:
        t0 = time.perf_counter()
        sg.search(q, limit=10)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {"queries": len(times), "p50_ms": round(statistics.median(times), 2),
            "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2)}


def bench_spyglass(folder: Path, label: str, queries: list[str]) -> dict:
    home = OUT / f"home-{label}"
    if home.exists():
        shutil.rmtree(home)
    n = sum(1 for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    mb = folder_bytes(folder) / 1e6
    # keyword indexing speed (the embedding pass has its own benchmark, bench_embed.py)
    home.mkdir(parents=True)
    (home / "config.toml").write_text("[embedding]\nenabled = false\n")
    wall, peak, anon = run_measured([str(ROOT / ".venv/bin/spyglass"), "index", str(folder), "--home", str(home)])
    lat = query_latency(home, queries)
    return {"system": "spyglass", "corpus": label, "docs": n, "MB": round(mb, 1), "seconds": round(wall, 1),
            "docs_per_s": round(n / wall), "MB_per_s": round(mb / wall, 2), "peak_rss_MB": round(peak / 1e6),
            "peak_anon_MB": round(anon / 1e6), "index_MB": round(dir_size(home) / 1e6, 1), **lat}


def bench_recoll(folder: Path) -> dict:
    if not shutil.which("recollindex"):
        raise SystemExit("recoll is not installed: apt-get install recoll")
    conf = OUT / "recoll-conf"
    if conf.exists():
        shutil.rmtree(conf)
    conf.mkdir(parents=True)
    (conf / "recoll.conf").write_text(f"topdirs = {folder}\n")
    n = sum(1 for p in folder.iterdir() if p.is_file())
    wall, peak, anon = run_measured(["recollindex", "-c", str(conf)])
    return {"system": "recoll", "corpus": folder.name, "docs": n, "seconds": round(wall, 1),
            "docs_per_s": round(n / wall), "peak_rss_MB": round(peak / 1e6),
            "peak_anon_MB": round(anon / 1e6), "index_MB": round(dir_size(conf) / 1e6, 1)}


def scifact_queries() -> list[str]:
    with open(SHARED / "data/beir/scifact/queries.jsonl") as fh:
        qs = [json.loads(line)["text"] for line in fh]
    return [q.replace('"', " ") for q in qs[:500]]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["scifact", "synthetic", "recoll"])
    ap.add_argument("--docs", type=int, default=100_000)
    a = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    machine = {"cpus": os.cpu_count(), "python": platform.python_version(), "machine": platform.machine()}
    if a.what in ("scifact", "recoll"):
        folder = OUT / "scifact-txt"
        write_scifact(folder)
        res = bench_recoll(folder) if a.what == "recoll" else bench_spyglass(folder, "scifact-txt", scifact_queries())
    else:
        folder = OUT / f"synthetic-{a.docs}"
        write_synthetic(folder, a.docs)
        rng = random.Random(1)
        vocab = vocabulary()[:3000]
        queries = [" ".join(rng.sample(vocab[50:], rng.randint(1, 3))) for _ in range(300)]
        queries += [f'"{rng.choice(vocab[:200])} {rng.choice(vocab[:200])}"' for _ in range(50)]
        res = bench_spyglass(folder, f"synthetic-{a.docs}", queries)
    print(json.dumps({**res, **machine}))


if __name__ == "__main__":
    main()
