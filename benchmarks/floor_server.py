"""The floor for bench_server.py: a bare ASGI app (uvicorn, no framework, no auth, no catalog) that answers
``/api/search?q=`` with tantivy's top 10 passages of the same index, as ids. What a search costs when only the engine
and HTTP remain.

    uvicorn --factory floor_server:app --workers 2 (SPYGLASS_HOME=the benchmark's home)
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs


def app():
    import orjson

    from spyglass.index.lexical import LexicalIndex, iid_hex

    index = LexicalIndex(Path(os.environ["SPYGLASS_HOME"]) / "lexical")
    parse = index.index.parse_query

    async def asgi(scope, receive, send):
        if scope["type"] != "http":
            return
        q = parse_qs(scope.get("query_string", b"").decode()).get("q", [""])[0]
        searcher = index.searcher()
        clean = "".join(ch if ch.isalnum() else " " for ch in q)
        hits = searcher.search(parse(clean, ["title", "body"]), 10).hits if clean.strip() else []
        keys = searcher.fast_field_values("iid", [a for _, a in hits]) if hits else []
        body = orjson.dumps({"results": [{"id": iid_hex(k), "score": s} for (s, _), k in zip(hits, keys)]})
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    return asgi
