"""Run a BEIR-format evaluation through the public :class:`~spyglass.app.spyglass.Spyglass` API."""

from __future__ import annotations

import hashlib
import json
import statistics
import time
from pathlib import Path
from typing import Any

from spyglass.app.spyglass import Spyglass
from spyglass.core.config import Config
from spyglass.core.progress import NullProgress, Progress
from spyglass.evaluation.beir import default_cache, doc_id_of, fingerprint, load_qrels, load_queries, materialize
from spyglass.evaluation.metrics import evaluate


def settings_key(config: Config, dataset: Path) -> str:
    """What changes the index built for a dataset: the data, chunking, formats, the embedding model."""
    from spyglass.index.catalog import CATALOG_SCHEMA
    from spyglass.index.lexical import LEX_SCHEMA
    from spyglass.models.embedder import WINDOW_STRIDE

    e = config.embedding
    parts = [fingerprint(dataset), config.index.chunk_max_words, LEX_SCHEMA, CATALOG_SCHEMA, e.enabled, e.model,
             e.tokenizer, e.endpoint, e.endpoint_model, e.max_length, WINDOW_STRIDE, e.data_passages,
             sorted(e.data_kinds)]
    if e.precision != "fp32":  # int8 activations make other vectors (fp32 keeps the keys built before it existed)
        parts.append(e.precision)
    return hashlib.blake2b(json.dumps(parts, default=str).encode(), digest_size=6).hexdigest()


def build_index(dataset: Path, config: Config, cache: Path, progress: Progress | None = None) -> tuple[Path, float, bool]:
    """(data directory, seconds it took to index, whether it came from the cache)."""
    work = cache / f"{dataset.name}-{settings_key(config, dataset)}"
    done = work / "index.json"
    if done.exists():
        return work / "home", json.loads(done.read_text())["index_seconds"], True
    materialize(dataset, work)
    home = work / "home"
    t0 = time.perf_counter()
    sg = Spyglass(home, config=config)
    sg.index([str(work / "docs")], progress=progress)
    seconds = time.perf_counter() - t0
    sg.close()
    done.write_text(json.dumps({"index_seconds": round(seconds, 1), "built": time.time()}))
    return home, round(seconds, 1), False


def eval_beir(dataset: Path, mode: str = "hybrid", rerank: str | None = None, config: Config | None = None,
              cache: Path | None = None, progress: Progress | None = None, split: str = "test",
              fusion: str | None = None, max_queries: int | None = None, only: Any = None) -> dict[str, Any]:
    """``only``: keep the queries whose id it accepts (e.g. SQuAD's test half)."""
    config = config or Config()
    cache = cache or default_cache()
    home, index_seconds, cached = build_index(dataset, config, cache, progress)
    queries = load_queries(dataset)
    qrels = load_qrels(dataset, split)
    qids = [q for q in qrels if q in queries and (only is None or only(q))][: max_queries or None]
    sg = Spyglass(home, config=config)
    run: dict[str, dict[str, float]] = {}
    times: list[float] = []
    progress = progress or NullProgress()
    progress.start(f"Queries ({mode})", len(qids))
    rr = rerank or "none"
    sg.search(queries[qids[0]], limit=10, mode=mode, syntax="plain", snippets=False, rerank=rr)  # load models once
    for qid in qids:
        t0 = time.perf_counter()
        res = sg.search(queries[qid], limit=100, mode=mode, fusion=fusion, snippets=False, syntax="plain",
                        rerank=rr)
        times.append((time.perf_counter() - t0) * 1000)
        run[qid] = {doc_id_of(h.extra["name"]): 1.0 / (rank + 1) for rank, h in enumerate(res.hits)}
        progress.advance()
    progress.stop()
    sg.close()
    metrics = evaluate({q: qrels[q] for q in qids}, run)
    times.sort()
    return {
        "dataset": dataset.name,
        "mode": mode,
        "rerank": rerank,
        "fusion": (fusion or config.search.fusion) if mode == "hybrid" else None,
        **metrics,
        "index_seconds": index_seconds,
        "index_cached": cached,
        "query_ms_p50": round(statistics.median(times), 2),
        "query_ms_p95": round(times[int(0.95 * (len(times) - 1))], 2),
    }


def train_ranker(dataset: Path, out: Path, split: str = "train", config: Config | None = None,
                 cache: Path | None = None, progress: Progress | None = None) -> dict[str, Any]:
    """Train the LambdaMART ranker on a dataset's ``split`` qrels (never the test split it is measured on)."""
    from spyglass.ranking.ltr import train

    config = config or Config()
    cache = cache or default_cache()
    home, _, _ = build_index(dataset, config, cache, progress)
    queries = load_queries(dataset)
    qrels = load_qrels(dataset, split)
    sg = Spyglass(home, config=config)
    groups = []
    progress = progress or NullProgress()
    progress.start("Features", len(qrels))
    for qid, rel in qrels.items():
        if qid not in queries:
            continue
        ids, rows = sg.candidate_features(queries[qid])
        if not ids:
            continue
        items = sg.reader().catalog.items(ids)
        labels = [rel.get(doc_id_of(items[i]["name"]), 0) for i in ids]
        if any(labels):
            groups.append((rows, labels))
        progress.advance()
    progress.stop()
    sg.close()
    return train(groups, out)
