"""Time to value (issue 17): how soon after `spyglass index FOLDER` a user can search by keyword, and how soon most
documents have a vector — with the real CLI (keyword index first, then the background embedder, best first).

    .venv/bin/python benchmarks/bench_time_to_value.py real      # ../shared/data/formats/unstructured-example-docs
    .venv/bin/python benchmarks/bench_time_to_value.py scifact   # SciFact's 5,183 abstracts as .txt files

Reports seconds to keyword-ready (the index command returned and a keyword search answers), to 50 / 90 / 100 % of the
documents with text having at least one vector, and to the end of the background embedding; the passages embedded,
reused (duplicate text) and left keyword-only (machine data beyond its first passage). One JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
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


def measure(src: Path, home: Path) -> dict:
    env = {**os.environ, "SPYGLASS_HOME": str(home)}
    spy = [sys.executable, "-m", "spyglass"]
    t0 = time.monotonic()
    out = subprocess.run(spy + ["index", str(src), "--json"], capture_output=True, text=True, env=env, check=True)
    stats = json.loads(out.stdout)
    subprocess.run(spy + ["search", "report", "--mode", "keyword", "--json"], capture_output=True, env=env, check=True)
    res = {"keyword_ready_s": round(time.monotonic() - t0, 1), "documents": stats["documents"],
           "passages": stats["passages"]}
    marks = {50: None, 90: None, 100: None}
    while True:
        with_vec, docs, done, queued = coverage(home)
        share = with_vec / docs if docs else 1.0
        now = round(time.monotonic() - t0, 1)
        for m in marks:
            if marks[m] is None and share * 100 >= m:
                marks[m] = now
        state = json.loads((home / "embedding.json").read_text()) if (home / "embedding.json").exists() else {}
        if state.get("state") == "done" or (not queued and marks[100] is not None):
            res.update({f"docs_{m}pct_s": v for m, v in marks.items()}, vectors_done_s=now,
                       passages_embedded=done, passages_reused=state.get("reused"),
                       passages_keyword_only=res["passages"] - done,
                       embed_passages_per_s=state.get("passages_per_s"))
            return res
        time.sleep(0.25)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", choices=["real", "scifact"])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src = folder(args.corpus, Path(tmp))
        res = measure(src, Path(tmp) / "home")
    print(json.dumps({"corpus": args.corpus, **res, "cpus": os.cpu_count()}))


if __name__ == "__main__":
    main()
