"""Time to value (issue 17): how soon after `spyglass index FOLDER` a user can search by keyword, and how soon most
documents have a vector — with the real CLI (keyword index first, then the background embedder, best first).

    .venv/bin/python benchmarks/bench_time_to_value.py real      # ../shared/data/formats/unstructured-example-docs
    .venv/bin/python benchmarks/bench_time_to_value.py scifact   # SciFact's 5,183 abstracts as .txt files
    .venv/bin/python benchmarks/bench_time_to_value.py real --home benchmarks/out/floor-realdocs  # keep it for bench_floor
    .venv/bin/python benchmarks/bench_time_to_value.py scifact --until 100  # stop once every document has a vector

Reports seconds to keyword-ready (the index command returned and a keyword search answers), to 50 / 90 / 100 % of the
documents with text having at least one vector, and to the end of the background embedding; the passages embedded,
reused (duplicate text) and left keyword-only (machine data beyond its first passage). One JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SPYGLASS_SHARED", ROOT.parent / "shared"))


def folder(name: str, work: Path) -> Path:
    if name == "real":
        return SHARED / "data" / "formats" / "unstructured-example-docs"
    if name == "tiny":  # a smoke test of this script: three short files
        out = work / "tiny"
        out.mkdir(parents=True, exist_ok=True)
        for i, t in enumerate(["red apples and pears", "a boat on the lake", "notes about taxes"]):
            (out / f"{i}.txt").write_text(t + "\n")
        return out
    out = work / "scifact"
    out.mkdir(parents=True, exist_ok=True)
    with open(SHARED / "data/beir/scifact/corpus.jsonl") as fh:
        for line in fh:
            d = json.loads(line)
            (out / f"{d['_id']}.txt").write_text(f"{d['title']}\n\n{d['text']}\n")
    return out


def coverage(home: Path) -> tuple[int, int, int, int]:
    """(documents with a vector, documents with text, passages embedded, passages queued)."""
    db = sqlite3.connect(f"file:{home / 'catalog.sqlite3'}?mode=ro", uri=True, timeout=30)
    try:
        with_vec = db.execute("SELECT count(DISTINCT item_id) FROM embeddings").fetchone()[0]
        docs = db.execute("SELECT count(*) FROM items WHERE status = 'ok' AND n_chunks > 0").fetchone()[0]
        done = db.execute("SELECT count(*) FROM embeddings").fetchone()[0]
        queued = db.execute("SELECT count(*) FROM emb_todo").fetchone()[0]
        return with_vec, docs, done, queued
    finally:
        db.close()


def measure(src: Path, home: Path, until: int | None = None) -> dict:
    env = {**os.environ, "SPYGLASS_HOME": str(home)}
    spy = [sys.executable, "-m", "spyglass"]
    t0 = time.monotonic()
    stdout, keyword_cpu = run_sampled(spy + ["index", str(src), "--json"], env)
    stats = json.loads(stdout)
    subprocess.run(spy + ["search", "report", "--mode", "keyword", "--json"], capture_output=True, env=env, check=True)
    res = {"keyword_ready_s": round(time.monotonic() - t0, 1), "documents": stats["documents"],
           "passages": stats["passages"], "keyword_cpu_s": round(keyword_cpu, 1), "load": load()}
    print(json.dumps(res), file=sys.stderr, flush=True)
    marks: dict[int, float | None] = {50: None, 90: None, 100: None}
    cpu: dict[int, float | None] = dict.fromkeys(marks)
    loads: dict[int, float | None] = dict.fromkeys(marks)
    while True:
        with_vec, docs, done, queued = coverage(home)
        share = with_vec / docs if docs else 1.0
        now = round(time.monotonic() - t0, 1)
        state = json.loads((home / "embedding.json").read_text()) if (home / "embedding.json").exists() else {}
        for m, at in marks.items():
            if at is None and share * 100 >= m:
                marks[m], cpu[m], loads[m] = now, embedder_cpu(state.get("pid")), load()
                print(json.dumps({f"docs_{m}pct_s": now, "embedder_cpu_s": cpu[m], "load": loads[m]}),
                      file=sys.stderr, flush=True)
        stop = until is not None and marks[until] is not None
        if stop or state.get("state") == "done" or (not queued and marks[100] is not None):
            if stop and state.get("state") != "done":
                stop_embedder(state.get("pid"))
                now = None  # stopped at the mark: the end of the background embedding was not measured
            res.update({f"docs_{m}pct_s": v for m, v in marks.items()}, vectors_done_s=now,
                       passages_embedded=done, passages_reused=state.get("reused"),
                       passages_queued=queued, passages_keyword_only=res["passages"] - done - queued,
                       embed_passages_per_s=state.get("passages_per_s"),
                       embedder_cpu_s_at={f"{m}pct": v for m, v in cpu.items()},
                       load_at={f"{m}pct": v for m, v in loads.items()}, load_done=load())
            return res
        time.sleep(0.25)


def run_sampled(cmd: list[str], env: dict[str, str]) -> tuple[str, float]:
    """Run ``spyglass index``; its stdout and the CPU seconds of its process tree (extraction workers included: they
    live in a fork server that the index process does not wait for, so getrusage would miss them), sampled every
    0.2 s. The background embedder it starts is left out (its CPU is read at each mark instead)."""
    import psutil

    seen: dict[int, float] = {}
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True) as p:
        root = psutil.Process(p.pid)
        out: list[str] = []
        import threading

        reader = threading.Thread(target=lambda: out.append(p.stdout.read() if p.stdout else ""))
        reader.start()
        while p.poll() is None:
            try:
                for x in [root, *root.children(recursive=True)]:
                    if "spyglass.app.background" not in " ".join(x.cmdline()):
                        t = x.cpu_times()
                        seen[x.pid] = t.user + t.system
            except psutil.Error:
                pass
            time.sleep(0.2)
        reader.join()
    if p.returncode:
        raise SystemExit(f"spyglass index failed ({p.returncode})")
    return "".join(out), sum(seen.values())


def stop_embedder(pid: int | None) -> None:
    """End the background embedder this run started (by its pid) and wait for it to exit."""
    if not pid:
        return
    try:
        os.kill(pid, signal.SIGTERM)
        for _ in range(120):
            os.kill(pid, 0)
            time.sleep(0.25)
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def load() -> float:
    return round(os.getloadavg()[0], 1)


def embedder_cpu(pid: int | None) -> float | None:
    """CPU seconds (user + system) the background embedder has used so far: the machine is shared, so wall time
    alone says little; None when it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 1)
    except (OSError, ValueError, IndexError, TypeError):
        return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", choices=["real", "scifact", "tiny"])
    ap.add_argument("--until", type=int, choices=[50, 90, 100], help="stop (end the background embedder) once this "
                    "share of documents has a vector, instead of waiting for every passage")
    ap.add_argument("--home", type=Path, help="keep the data directory here (must not exist yet; bench_floor.py "
                    "reuses benchmarks/out/floor-realdocs) instead of a temporary one")
    args = ap.parse_args()
    if args.home and args.home.exists():
        ap.error(f"{args.home} exists: time to value is measured from an empty data directory")
    with tempfile.TemporaryDirectory() as tmp:
        src = folder(args.corpus, Path(tmp))
        res = measure(src, args.home.resolve() if args.home else Path(tmp) / "home", args.until)
    print(json.dumps({"corpus": args.corpus, **res, "cpus": os.cpu_count(), "load_avg_after": os.getloadavg()}))


if __name__ == "__main__":
    main()
