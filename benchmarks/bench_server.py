"""Bounded load test of the team server on loopback (a measurement, not a test).

    flock /work/bench.lock .venv/bin/python benchmarks/bench_server.py [--clients 50] [--seconds 30]
        [--mode keyword|hybrid] [--facets] [--floor]

Indexes SciFact (5,183 abstracts, from ../shared/data) into benchmarks/out/home-scifact-server once, starts
`spyglass serve` as its own process, and runs N concurrent clients (asyncio + httpx, one token each, keep-alive)
that search SciFact's test queries for a fixed time (``--facets``: every request also asks for facets, as the web
app's first page does). ``--floor`` runs the same load against benchmarks/floor_server.py instead (tantivy behind a
bare ASGI app: the engine and HTTP only), for a side-by-side floor. Prints one JSON object: requests, errors
(non-200 or transport failures), throughput, latency p50/p90/p99/max in milliseconds, and the 1-minute load average
before and after (the machine is shared).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
from spyglass.evaluation.registry import data_dir  # noqa: E402
SHARED = data_dir().parent  # $SPYGLASS_DATA/.. or ../shared
SCIFACT = SHARED / "data" / "beir" / "scifact"
OUT = ROOT / "benchmarks" / "out"
HOME = OUT / "home-scifact-server"
CORPUS = ROOT / "benchmarks" / "out" / "scifact-txt"


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(p * len(xs)))], 1)


def spyglass(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROOT / ".venv" / "bin" / "spyglass"), "--help"] if not args else
                          [str(ROOT / ".venv" / "bin" / "spyglass"), *args, "--home", str(HOME)],
                          check=True, capture_output=True, text=True, **kw)


def prepare(clients: int) -> list[str]:
    if not CORPUS.exists():
        CORPUS.mkdir(parents=True)
        with open(SCIFACT / "corpus.jsonl") as fh:
            for line in fh:
                d = json.loads(line)
                (CORPUS / f"{d['_id']}.txt").write_text(f"{d.get('title', '')}\n\n{d.get('text', '')}")
    if not (HOME / "manifest.json").exists():
        cached = _cached_scifact_home()
        if cached is not None:  # `spyglass eval beir` already indexed SciFact with these settings: reuse it
            import shutil

            print(f"copying {cached} ...", file=sys.stderr)
            shutil.copytree(cached, HOME, ignore=shutil.ignore_patterns("write.lock"))
        else:
            print("indexing SciFact once (with embeddings) ...", file=sys.stderr)
            spyglass("index", str(CORPUS))
    users = json.loads(spyglass("users", "list", "--json").stdout)["users"]
    if not any(u["name"] == "loadtest" for u in users):
        spyglass("users", "add", "loadtest", "--no-login", "--json")
    return [json.loads(spyglass("tokens", "create", "loadtest", "--label", f"load{i}", "--json").stdout)["token"]
            for i in range(clients)]


def readers_config() -> str:
    """Config that lets the load-test user read the indexed abstracts: a copied evaluation home's files were indexed
    under the evaluating user's private cache directory, so their only reader is that user. Without this every
    request would search nothing (fast, and meaningless)."""
    import sqlite3

    with sqlite3.connect(HOME / "catalog.sqlite3") as db:
        readers = sorted({r for (r,) in db.execute("SELECT DISTINCT principal FROM acl")} - {"everyone"})
    return f"[users.loadtest]\nprincipals = {json.dumps(readers)}\n"


def _cached_scifact_home() -> Path | None:
    sys.path.insert(0, str(ROOT / "src"))
    from spyglass.evaluation.beir import default_cache
    from spyglass.index.lexical import LEX_SCHEMA

    for d in sorted(default_cache().glob("scifact-*/home"), key=lambda p: p.stat().st_mtime, reverse=True):
        m = json.loads((d / "manifest.json").read_text()) if (d / "manifest.json").exists() else {}
        if m.get("lexical", {}).get("schema") == LEX_SCHEMA and m.get("vectors"):
            return d
    return None


async def client(url: str, token: str, queries: list[str], mode: str, until: float, lat: list[float],
                 errors: list[str], empty: list[str], facets: bool = False) -> None:
    import httpx

    rng = random.Random(token)
    async with httpx.AsyncClient(base_url=url, headers={"authorization": f"Bearer {token}"}, timeout=30) as c:
        while time.perf_counter() < until:
            q = rng.choice(queries)
            t0 = time.perf_counter()
            try:
                params = {"q": q, "mode": mode, "facets": str(facets).lower(), "limit": 10}
                r = await c.get("/api/search", params=params)
                if r.status_code != 200:
                    errors.append(str(r.status_code))
                elif not r.json()["results"]:
                    empty.append(q)
            except Exception as exc:  # counted, the run goes on
                errors.append(type(exc).__name__)
            lat.append((time.perf_counter() - t0) * 1000)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--mode", default="hybrid")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--facets", action="store_true", help="ask for facets on every request")
    ap.add_argument("--floor", action="store_true", help="bare tantivy behind HTTP (benchmarks/floor_server.py)")
    args = ap.parse_args()
    load_before = os.getloadavg()[0]
    tokens = prepare(args.clients)
    queries = [json.loads(line)["text"] for line in open(SCIFACT / "queries.jsonl")]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = HOME / "config.toml"
    cfg.write_text(f"[server]\nrate_per_s = 1000.0\nrate_burst = 1000\nport = {port}\n" + readers_config())
    if args.floor:
        cmd = [sys.executable, "-m", "uvicorn", "--factory", "floor_server:app", "--port", str(port), "--workers",
               str(args.workers), "--log-level", "warning", "--app-dir", str(ROOT / "benchmarks")]
    else:
        cmd = [str(ROOT / ".venv" / "bin" / "spyglass"), "serve", "--home", str(HOME), "--workers", str(args.workers)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(OUT / "server.log", "w"),
                            env={**os.environ, "SPYGLASS_HOME": str(HOME)})
    url = f"http://127.0.0.1:{port}"
    try:
        import httpx

        for _ in range(300):
            try:
                if httpx.get(url + ("/api/search?q=x" if args.floor else "/healthz"), timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        # warm-up: load the embedder and the indexes in every worker and read handle
        warm = asyncio.run(_run(url, tokens[:16], queries, args.mode, 8.0, args.facets))
        if len(warm[2]) > len(warm[0]) // 2:
            sys.exit(f"most warm-up searches found nothing ({len(warm[2])} of {len(warm[0])}): the load-test user "
                     "cannot read the documents, so the numbers would mean nothing")
        lat, errors, empty, took = asyncio.run(_run(url, tokens, queries, args.mode, args.seconds, args.facets))
    finally:
        proc.terminate()  # uvicorn's supervisor stops its workers; give them their graceful 5 s, then kill
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    print(json.dumps({
        "server": "floor (tantivy + bare ASGI)" if args.floor else "spyglass", "facets": args.facets,
        "clients": args.clients, "seconds": args.seconds, "mode": args.mode, "workers": args.workers,
        "documents": 5183,
        "requests": len(lat), "errors": len(errors), "empty_results": len(empty),
        "error_rate": round(len(errors) / max(1, len(lat)), 4),
        "error_kinds": sorted(set(errors)), "requests_per_s": round(len(lat) / took, 1),
        "p50_ms": pct(lat, 0.5), "p90_ms": pct(lat, 0.9), "p99_ms": pct(lat, 0.99), "max_ms": round(max(lat), 1),
        "mean_ms": round(statistics.mean(lat), 1), "cpus": os.cpu_count(),
        "load_avg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }))


async def _run(url: str, tokens: list[str], queries: list[str], mode: str, seconds: float, facets: bool = False):
    lat: list[float] = []
    errors: list[str] = []
    empty: list[str] = []
    t0 = time.perf_counter()
    until = t0 + seconds
    await asyncio.gather(*(client(url, t, queries, mode, until, lat, errors, empty, facets) for t in tokens))
    return lat, errors, empty, time.perf_counter() - t0


if __name__ == "__main__":
    main()
