"""Where a server search request spends its time (a measurement, not a test).

    flock /work/bench.lock .venv/bin/python benchmarks/profile_search.py [--n 300] [--mode keyword]

Over SciFact (the home bench_server.py prepares), times each stage of ``GET /api/search`` on its own, in process and
single-threaded, with the server's own code: credential resolution (cached and uncached), principal resolution, query
parse, the engine search (tantivy, plus faiss for hybrid) with and without snippets, facets, serialisation (stdlib
json and orjson) and the activity-log write; then the same request end to end through uvicorn over loopback (one
client, keep-alive). The difference between the end-to-end p50 and the sum of the stages is the HTTP stack. Prints
one JSON object (milliseconds, p50 and mean per stage).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

from bench_server import HOME, SCIFACT, prepare, readers_config


def _queries() -> list[str]:
    with open(SCIFACT / "queries.jsonl") as fh:
        return [json.loads(line)["text"] for line in fh]


def timed(fn, queries, n) -> dict[str, float]:
    ms = []
    for i in range(n):
        q = queries[i % len(queries)]
        t0 = time.perf_counter()
        fn(q)
        ms.append((time.perf_counter() - t0) * 1000)
    ms.sort()
    return {"p50": round(ms[len(ms) // 2], 3), "mean": round(statistics.mean(ms), 3)}


def stages(mode: str, n: int, token: str) -> dict[str, dict[str, float]]:
    import orjson

    from spyglass.retrieval.query import parse
    from spyglass.server.api import _hit
    from spyglass.server.auth import resolve_token
    from spyglass.server.state import ServerState

    queries = _queries()
    state = ServerState(HOME)
    out: dict[str, dict[str, float]] = {}
    out["auth_uncached"] = timed(lambda q: (state.callers._entries.clear(), resolve_token(state, token)), queries, n)
    out["auth_cached"] = timed(lambda q: resolve_token(state, token), queries, n)
    out["principals_uncached"] = timed(lambda q: state.principals("loadtest"), queries, n)
    out["parse"] = timed(parse, queries, n)
    mine = state.principals("loadtest")  # what the server searches with: the load-test user can read the abstracts
    with state.pool.reader() as sg:
        sg.search(queries[0], mode=mode)  # warm: open the indexes, load the model
        out["engine_no_snippets"] = timed(lambda q: sg.search(q, mode=mode, principals=mine, snippets=False),
                                          queries, n)
        out["engine_with_snippets"] = timed(lambda q: sg.search(q, mode=mode, principals=mine), queries, n)
        out["facets_second_search"] = timed(lambda q: sg.facets(q, None, mine), queries, n)
        res = sg.search(queries[1], mode=mode, principals=mine)
        body = {"query": queries[1], "mode": res.mode, "total": res.total, "results": [_hit(h) for h in res.hits]}
        out["json_stdlib"] = timed(lambda q: json.dumps(body).encode(), queries, n)
        out["json_orjson"] = timed(lambda q: orjson.dumps(body), queries, n)
        act = sg.activity()
        ids = json.dumps({"offset": 0, "ids": [h.id for h in res.hits]})

        def insert_now(q: str) -> None:  # what every search did before the background writer
            act.db.execute("INSERT INTO activity_searches(user, at, query, mode, shown) VALUES (?,?,?,?,?)",
                           ("loadtest", time.time(), q, mode, ids))

        out["activity_insert_on_request"] = timed(insert_now, queries, min(n, 100))
        out["activity_log_search_queued"] = timed(
            lambda q: act.log_search("loadtest", q, mode, [h.id for h in res.hits]), queries, min(n, 100))
    state.close()
    return out


def end_to_end(mode: str, n: int, token: str, facets: bool) -> dict[str, float]:
    import httpx
    from serverutil import LiveServer

    queries = _queries()
    with LiveServer(HOME) as srv, httpx.Client(base_url=srv.url, headers={"authorization": f"Bearer {token}"}) as c:
        for q in queries[:20]:
            c.get("/api/search", params={"q": q, "mode": mode})
        return timed(lambda q: c.get("/api/search", params={"q": q, "mode": mode, "facets": str(facets).lower()})
                     .raise_for_status(), queries, n)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--mode", default="keyword")
    args = ap.parse_args()
    token = prepare(1)[0]
    (HOME / "config.toml").write_text("[server]\nrate_per_s = 1000.0\nrate_burst = 1000\n" + readers_config())
    out = {"mode": args.mode, "n": args.n, "stages_ms": stages(args.mode, args.n, token),
           "end_to_end_ms": {"no_facets": end_to_end(args.mode, args.n, token, False),
                             "facets": end_to_end(args.mode, args.n, token, True)},
           "cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2)}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
