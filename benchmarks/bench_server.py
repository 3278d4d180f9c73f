"""Bounded load test of the team server on loopback (a measurement, not a test).

    flock /work/bench.lock .venv/bin/python benchmarks/bench_server.py [--clients 50] [--seconds 30]
        [--mode keyword|hybrid] [--facets] [--floor] [--generator httpx|wrk] [--setting SECTION.KEY=VALUE]

Indexes SciFact (5,183 abstracts, from ../shared/data) into benchmarks/out/home-scifact-server once, starts
`spyglass serve` as its own process, and runs N concurrent clients (asyncio + httpx, one token each, keep-alive)
that search SciFact's test queries for a fixed time (``--facets``: every request also asks for facets, as the web
app's first page does). ``--floor`` runs the same load against benchmarks/floor_server.py instead (tantivy behind a
bare ASGI app: the engine and HTTP only), for a side-by-side floor. Every client opens its connection and has one
request answered before the clock starts (50 clients connecting at once are reported apart); the window then runs ``--seconds`` with all clients
busy. Prints one JSON object: requests, errors (non-200 or transport failures), throughput, latency p50/p90/p99/max in
milliseconds over the window, the first requests (``first_request_ms``: 50 clients connecting at once), CPU seconds
of the server's processes and of the load generator during the window, and the 1-minute load average before and
after (the machine is shared). ``--generator wrk`` sends the same load from wrk (benchmarks/wrk_search.lua; Debian's
``wrk`` package), whose own CPU is a fraction of the Python generator's, so more of the 2 cores serve.
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


def extra_settings(settings: list[str]) -> str:
    """``["embedding.spinning=false", ...]`` as TOML tables (values are TOML: strings need their quotes)."""
    tables: dict[str, list[str]] = {}
    for item in settings:
        key, _, value = item.partition("=")
        section, _, name = key.strip().rpartition(".")
        if not section or not name or not value or section == "server":
            sys.exit(f"--setting {item!r}: expected SECTION.KEY=VALUE, outside [server] (the benchmark writes it)")
        tables.setdefault(section, []).append(f"{name} = {value.strip()}")
    return "".join(f"[{t}]\n" + "\n".join(lines) + "\n" for t, lines in tables.items())


def _cached_scifact_home() -> Path | None:
    sys.path.insert(0, str(ROOT / "src"))
    from spyglass.evaluation.beir import default_cache
    from spyglass.index.lexical import LEX_SCHEMA

    for d in sorted(default_cache().glob("scifact-*/home"), key=lambda p: p.stat().st_mtime, reverse=True):
        m = json.loads((d / "manifest.json").read_text()) if (d / "manifest.json").exists() else {}
        if m.get("lexical", {}).get("schema") == LEX_SCHEMA and m.get("vectors"):
            return d
    return None


class Window:
    """The measured window, shared by the clients: it opens once every client has its connection and one answered
    request (so connection set-up and the first request of 50 clients at once are reported apart, as
    ``first_request_ms``), and closes ``seconds`` later."""

    def __init__(self, clients: int, seconds: float) -> None:
        self.waiting, self.seconds = clients, seconds
        self.opened = asyncio.Event()
        self.start = self.until = 0.0

    def ready(self) -> None:
        self.waiting -= 1
        if self.waiting == 0:
            self.start = time.perf_counter()
            self.until = self.start + self.seconds
            self.opened.set()


async def client(url: str, token: str, queries: list[str], mode: str, window: Window, out: dict,
                 facets: bool = False) -> None:
    import httpx

    rng = random.Random(token)

    async def one(c: httpx.AsyncClient) -> float:
        q = rng.choice(queries)
        t0 = time.perf_counter()
        try:
            params = {"q": q, "mode": mode, "facets": str(facets).lower(), "limit": 10}
            r = await c.get("/api/search", params=params)
            if r.status_code != 200:
                out["errors"].append(str(r.status_code))
            elif not r.json()["results"]:
                out["empty"].append(q)
        except Exception as exc:  # counted, the run goes on
            out["errors"].append(type(exc).__name__)
        return (time.perf_counter() - t0) * 1000

    t0 = time.perf_counter()
    async with httpx.AsyncClient(base_url=url, headers={"authorization": f"Bearer {token}"}, timeout=30) as c:
        out["first"].append((await one(c), (time.perf_counter() - t0) * 1000))
        window.ready()
        await window.opened.wait()
        while time.perf_counter() < window.until:
            out["lat"].append(await one(c))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--mode", default="hybrid")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--facets", action="store_true", help="ask for facets on every request")
    ap.add_argument("--floor", action="store_true", help="bare tantivy behind HTTP (benchmarks/floor_server.py)")
    ap.add_argument("--setting", action="append", default=[], metavar="SECTION.KEY=VALUE",
                    help="an extra setting for the server's config.toml, as TOML (e.g. embedding.spinning=false)")
    ap.add_argument("--generator", choices=("httpx", "wrk"), default="httpx",
                    help="the load generator: Python (asyncio + httpx) or wrk (benchmarks/wrk_search.lua)")
    args = ap.parse_args()
    load_before = os.getloadavg()[0]
    tokens = prepare(args.clients)
    queries = [json.loads(line)["text"] for line in open(SCIFACT / "queries.jsonl")]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = HOME / "config.toml"
    cfg.write_text(f"[server]\nrate_per_s = 1000.0\nrate_burst = 1000\nport = {port}\n" + readers_config()
                   + extra_settings(args.setting))
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
        if len(warm["empty"]) > len(warm["lat"]) // 2:
            sys.exit(f"most warm-up searches found nothing ({len(warm['empty'])} of {len(warm['lat'])}): the "
                     "load-test user cannot read the documents, so the numbers would mean nothing")
        result = (_with_wrk if args.generator == "wrk" else _with_httpx)(url, tokens, queries, args, proc)
    finally:
        proc.terminate()  # uvicorn's supervisor stops its workers; give them their graceful 5 s, then kill
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    print(json.dumps({
        "server": "floor (tantivy + bare ASGI)" if args.floor else "spyglass", "generator": args.generator,
        "facets": args.facets, "clients": args.clients, "seconds": args.seconds, "mode": args.mode,
        "workers": args.workers, "settings": args.setting, "documents": 5183, **result, "cpus": os.cpu_count(),
        "load_avg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }))


def _with_httpx(url: str, tokens: list[str], queries: list[str], args: argparse.Namespace,
                proc: subprocess.Popen) -> dict:
    cpu = _cpu_seconds(proc)
    res = asyncio.run(_run(url, tokens, queries, args.mode, args.seconds, args.facets))
    cpu = {k: round(v - cpu[k], 2) for k, v in _cpu_seconds(proc).items()}
    lat, errors, empty, took = res["lat"], res["errors"], res["empty"], res["took"]
    first = [ms for ms, _ in res["first"]]
    return {
        "requests": len(lat), "errors": len(errors), "empty_results": len(empty),
        "error_rate": round(len(errors) / max(1, len(lat)), 4),
        "error_kinds": sorted(set(errors)), "requests_per_s": round(len(lat) / took, 1),
        "p50_ms": pct(lat, 0.5), "p90_ms": pct(lat, 0.9), "p99_ms": pct(lat, 0.99), "max_ms": round(max(lat), 1),
        "mean_ms": round(statistics.mean(lat), 1),
        "first_request_ms": {"p50": pct(first, 0.5), "max": round(max(first), 1),
                             "ready_after_ms": round(max(t for _, t in res["first"]), 1)},
        "cpu_s": cpu, "server_cpu_ms_per_request": round(1000 * cpu["server"] / max(1, len(lat)), 2),
    }


def _with_wrk(url: str, tokens: list[str], queries: list[str], args: argparse.Namespace,
              proc: subprocess.Popen) -> dict:
    """The same load from wrk (one thread, C and LuaJIT: a fraction of the Python generator's CPU), latencies from
    wrk's own histogram. wrk connects all clients when it starts, so its window includes their first requests."""
    import resource
    import shutil

    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    (OUT / "wrk-queries.txt").write_text("\n".join(" ".join(q.split()) for q in queries) + "\n")
    (OUT / "wrk-tokens.txt").write_text("\n".join(tokens) + "\n")
    cmd = [wrk, "-t1", f"-c{args.clients}", f"-d{int(args.seconds)}s", "--timeout", "30s",
           "-s", str(ROOT / "benchmarks" / "wrk_search.lua"), url, "--", str(OUT / "wrk-queries.txt"),
           str(OUT / "wrk-tokens.txt"), args.mode, str(args.facets).lower()]
    cpu, before = _cpu_seconds(proc), resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = {"server": round(_cpu_seconds(proc)["server"] - cpu["server"], 2),
           "load_generator": round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 2)}
    w = json.loads(next(line for line in out.splitlines() if line.startswith("{")))
    errors = sum(w["errors"].values())
    return {
        "requests": w["requests"], "errors": errors, "error_rate": round(errors / max(1, w["requests"]), 4),
        "error_kinds": sorted(k for k, v in w["errors"].items() if v),
        "requests_per_s": round(w["requests"] / (w["duration_us"] / 1e6), 1),
        **{f"{k}_ms": round(w[f"{k}_us"] / 1000, 1) for k in ("p50", "p90", "p99", "max", "mean")},
        "cpu_s": cpu, "server_cpu_ms_per_request": round(1000 * cpu["server"] / max(1, w["requests"]), 2),
    }


async def _run(url: str, tokens: list[str], queries: list[str], mode: str, seconds: float, facets: bool = False
               ) -> dict:
    """Latencies of the requests in the measured window (``lat``), each client's first request and its set-up
    (``first``: (request ms, ms since the client was created)), errors, empty results, and the window's length."""
    out: dict = {"lat": [], "first": [], "errors": [], "empty": []}
    window = Window(len(tokens), seconds)
    await asyncio.gather(*(client(url, t, queries, mode, window, out, facets) for t in tokens))
    out["took"] = time.perf_counter() - window.start
    return out


def _cpu_seconds(proc: subprocess.Popen) -> dict[str, float]:
    """CPU seconds (user + system) so far of the server's process tree and of this load generator."""
    import psutil

    def used(p: psutil.Process) -> float:
        try:
            t = p.cpu_times()
            return t.user + t.system
        except psutil.NoSuchProcess:
            return 0.0

    server = psutil.Process(proc.pid)
    return {"server": sum(used(p) for p in [server, *server.children(recursive=True)]),
            "load_generator": used(psutil.Process())}


if __name__ == "__main__":
    main()
