"""Memory, disk and speed per 1M passages: tantivy and faiss exact, HNSW and IVF-PQ (a measurement, not a test).

    flock /work/bench.lock nice -n 5 .venv/bin/python benchmarks/bench_scale.py all [--n 1000000] [--dir DIR]

Feeds docs/scaling.md. Each phase runs in a process of its own, so memory is measured cleanly: a *build* process
(build seconds, peak RSS over what it held before building), then a fresh *serve* process that opens the saved index
as a reader would (resident memory it adds, query latency with one thread, recall@10 against exact search).

Vectors: ``n`` synthetic 384-d unit vectors (MiniLM's dimension) with structure like real embeddings — a 32-d latent
mixture of 4,000 topics projected to 384-d plus isotropic noise — and 200 queries from the same distribution
(ground truth: exact inner-product search). Indexes as the product builds them (``index/vectors.py``): IndexFlatIP;
IndexHNSWFlat M=32, efConstruction 80, efSearch 128 (64 and 256 also probed); IndexIVFPQ nlist 1024, 48 × 8-bit codes,
nprobe 16–128, alone, refined by 8-bit scalar-quantised vectors in memory (IndexRefine, k_factor 10), and refined by the
float vectors read from a file on disk (top 100 re-scored exactly; memory holds only the codes). Phase ``idmap``: what
the product's ``IndexIDMap2`` wrapper adds per vector (ids on disk, ids and their reverse map in memory).

Text: ``n`` synthetic passages of 150 words (a Zipf-distributed vocabulary of 50,000 pseudo-words), 10 per document,
ACL principals from 50 groups, written through the product's lexical index (``index/lexical.py``: its schema,
analyser, stored body) and searched through its keyword retriever (BM25 over title/path/body, grouping, snippets),
with and without an access-control filter; the same passages written to the product's catalog (``index/catalog.py``,
SQLite: items, passages, principals, one vector-key row per passage), timed apart.

Prints one JSON line per measurement and appends it to ``--out`` (default benchmarks/out/scale.jsonl).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

DIM = 384
LATENT = 32
TOPICS = 4000
QUERIES = 200
K = 10


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def emit(args: argparse.Namespace, row: dict) -> None:
    row = {"n": args.n, **row}
    line = json.dumps(row)
    print(line, flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("a") as fh:
        fh.write(line + "\n")


def latencies(fn, queries) -> dict:
    ts = []
    for q in queries:
        t = time.perf_counter()
        fn(q)
        ts.append((time.perf_counter() - t) * 1000)
    ts.sort()
    return {"p50_ms": round(statistics.median(ts), 3), "p99_ms": round(ts[int(len(ts) * 0.99) - 1], 3)}


def disk_mb(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 2**20
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


# -- data ---------------------------------------------------------------------------------------------------------
def _draw(rng, proj, centers, n):
    import numpy as np

    topic = rng.integers(0, len(centers), n)
    h = centers[topic] + 0.6 * rng.standard_normal((n, LATENT)).astype(np.float32)
    x = h @ proj + 0.35 * rng.standard_normal((n, DIM)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32)


def gen(args: argparse.Namespace) -> None:
    import faiss
    import numpy as np

    faiss.omp_set_num_threads(2)
    d = Path(args.dir)
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20)
    proj = (rng.standard_normal((LATENT, DIM)) / np.sqrt(LATENT)).astype(np.float32)
    centers = rng.standard_normal((TOPICS, LATENT)).astype(np.float32)
    t0 = time.perf_counter()
    x = np.lib.format.open_memmap(d / "vectors.npy", mode="w+", dtype=np.float32, shape=(args.n, DIM))
    for s in range(0, args.n, 100_000):
        x[s:s + 100_000] = _draw(rng, proj, centers, min(100_000, args.n - s))
    x.flush()
    q = _draw(rng, proj, centers, QUERIES)
    np.save(d / "queries.npy", q)
    flat = faiss.IndexFlatIP(DIM)
    for s in range(0, args.n, 200_000):
        flat.add(np.ascontiguousarray(x[s:s + 200_000]))
    sims, gt = flat.search(q, K)
    np.save(d / "gt.npy", gt)
    emit(args, {"phase": "gen", "seconds": round(time.perf_counter() - t0, 1),
                "top1_cos_mean": round(float(sims[:, 0].mean()), 3), "top10_cos_mean": round(float(sims[:, 9].mean()), 3)})


# -- vector indexes -----------------------------------------------------------------------------------------------
def _vectors(args: argparse.Namespace):
    import numpy as np

    d = Path(args.dir)
    return np.load(d / "vectors.npy"), np.load(d / "queries.npy"), np.load(d / "gt.npy")


def build(args: argparse.Namespace) -> None:
    """Build one kind of vector index and save it (``--kind`` flat | hnsw | ivfpq; ivfpq also saves ivfpq-sq8, the
    same trained IVF-PQ index refined by 8-bit scalar-quantised vectors). One thread: faiss's OpenMP threads spin,
    which on a shared 2-core machine is several times slower than one thread."""
    import faiss
    import numpy as np

    faiss.omp_set_num_threads(1)
    x, _, _ = _vectors(args)
    base = rss_mb()
    t0 = time.perf_counter()
    saved: dict[str, object] = {}
    if args.kind == "flat":
        index = faiss.IndexFlatIP(DIM)
        index.add(x)
        saved["flat"] = index
    elif args.kind == "hnsw":
        index = faiss.IndexHNSWFlat(DIM, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        step = 50_000
        for s in range(0, len(x), step):
            index.add(x[s:s + step])
            print(f"hnsw {s + step} {time.perf_counter() - t0:.0f}s", file=sys.stderr, flush=True)
        saved["hnsw"] = index
    else:
        rng = np.random.default_rng(1)
        sample = x[np.sort(rng.choice(len(x), min(len(x), 100_000), replace=False))]
        ivf = faiss.IndexIVFPQ(faiss.IndexFlatIP(DIM), DIM, 1024, 48, 8, faiss.METRIC_INNER_PRODUCT)
        ivf.train(sample)
        print(f"ivfpq trained {time.perf_counter() - t0:.0f}s", file=sys.stderr, flush=True)
        for s in range(0, len(x), 100_000):
            ivf.add(x[s:s + 100_000])
        saved["ivfpq"] = ivf
        sq = faiss.IndexScalarQuantizer(DIM, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
        sq.train(sample)
        for s in range(0, len(x), 100_000):
            sq.add(x[s:s + 100_000])
        refined = faiss.IndexRefine(ivf, sq)
        saved["ivfpq-sq8"] = refined
    seconds = time.perf_counter() - t0
    for kind, index in saved.items():
        path = Path(args.dir) / f"{kind}.faiss"
        faiss.write_index(index, str(path))
        emit(args, {"phase": "build", "kind": kind, "seconds": round(seconds, 1), "vectors_per_s": round(len(x) / seconds),
                    "build_extra_peak_mb": round(peak_mb() - base), "disk_mb": round(disk_mb(path), 1),
                    "note": "ivfpq and ivfpq-sq8 built together: seconds cover both" if kind.startswith("ivf") else ""})


def serve(args: argparse.Namespace) -> None:
    """Open a saved index as a reader would; memory it adds, latency (1 thread), recall@10."""
    import faiss
    import numpy as np

    faiss.omp_set_num_threads(1)
    d = Path(args.dir)
    q = np.load(d / "queries.npy")
    gt = np.load(d / "gt.npy")
    base = rss_mb()
    index = faiss.read_index(str(d / f"{args.kind}.faiss"))
    resident = rss_mb() - base
    variants: list[tuple[str, object]] = []
    if args.kind == "hnsw":
        for ef in (64, 128, 256):
            variants.append((f"efSearch={ef}", faiss.SearchParametersHNSW(efSearch=ef)))
    elif args.kind == "ivfpq":
        for nprobe in (16, 32, 64, 128):
            variants.append((f"nprobe={nprobe}", faiss.SearchParametersIVF(nprobe=nprobe)))
        vecs = np.load(d / "vectors.npy", mmap_mode="r")  # float vectors stay on disk (page cache)
        for nprobe in (32, 64):
            variants.append((f"nprobe={nprobe} + refine from disk (top 100)", ("disk", vecs, nprobe)))
    elif args.kind == "ivfpq-sq8":
        for nprobe in (32, 64):
            variants.append((f"nprobe={nprobe} + refine SQ8 (k_factor 10)", faiss.IndexRefineSearchParameters(
                k_factor=10, base_index_params=faiss.SearchParametersIVF(nprobe=nprobe))))
    else:
        variants.append(("exact", None))
    for name, params in variants:
        found = []

        def one(qv, params=params, found=found):
            if isinstance(params, tuple):  # IVF-PQ candidates, re-scored with the exact vectors read from disk
                _, cand = index.search(qv[None, :], 100, params=faiss.SearchParametersIVF(nprobe=params[2]))
                ids = np.sort(cand[0][cand[0] >= 0])
                scores = np.asarray(params[1][ids]) @ qv
                found.append(ids[np.argsort(-scores)[:K]])
                return
            _, ids = index.search(qv[None, :], K, params=params) if params is not None else index.search(qv[None, :], K)
            found.append(ids[0])

        for qv in q[:20]:  # warm-up
            one(qv)
        found.clear()
        lat = latencies(one, q)
        recall = float(np.mean([len(set(f.tolist()) & set(g.tolist())) / K for f, g in zip(found, gt)]))
        emit(args, {"phase": "serve", "kind": args.kind, "variant": name, "resident_mb": round(resident),
                    "recall_at_10": round(recall, 4), **lat})


def idmap(args: argparse.Namespace) -> None:
    """What the product's ``IndexIDMap2`` wrapper (``index/vectors.py``) adds to any inner index: the 64-bit ids on disk,
    the ids and their reverse map in memory. Measured over a 1-d flat index, so the inner index is negligible."""
    import faiss
    import numpy as np

    x = np.zeros((args.n, 1), dtype=np.float32)
    ids = np.arange(args.n, dtype=np.int64) * 7 + 3
    path = Path(args.dir) / "idmap.faiss"
    Path(args.dir).mkdir(parents=True, exist_ok=True)
    base = rss_mb()
    plain = faiss.IndexFlatIP(1)
    plain.add(x)
    faiss.write_index(plain, str(path))
    plain_mem, plain_disk = rss_mb() - base, disk_mb(path)
    del plain
    base = rss_mb()
    wrapped = faiss.IndexIDMap2(faiss.IndexFlatIP(1))
    wrapped.add_with_ids(x, ids)
    built_mem = rss_mb() - base
    faiss.write_index(wrapped, str(path))
    wrapped_disk = disk_mb(path)
    del wrapped
    base = rss_mb()
    reread = faiss.read_index(str(path))
    read_mem = rss_mb() - base
    assert reread.ntotal == args.n
    path.unlink()
    emit(args, {"phase": "idmap", "kind": "IndexIDMap2 overhead", "disk_mb": round(wrapped_disk - plain_disk, 1),
                "built_extra_mb": round(built_mem - plain_mem, 1), "read_extra_mb": round(read_mem - plain_mem, 1)})


# -- lexical ------------------------------------------------------------------------------------------------------
def _vocab(rng, n_words: int) -> list[str]:
    syll = ["ka", "lo", "mi", "ren", "to", "sa", "vel", "dor", "qui", "na", "bre", "fu", "zan", "pol", "te", "ris"]
    words = set()
    while len(words) < n_words:
        words.add("".join(rng.choice(syll) for _ in range(int(rng.integers(2, 5)))))
    return sorted(words, key=lambda w: (len(w), w))  # frequent words short, as in natural language


def lex_build(args: argparse.Namespace) -> None:
    """The keyword index and, timed apart, the catalog (SQLite: items, passages, principals, one ``embeddings`` row
    per passage as the embedding pass leaves it) for the same synthetic passages."""
    import numpy as np

    from spyglass.core.types import Chunk
    from spyglass.index.catalog import Catalog, ItemRecord, ItemRow
    from spyglass.index.embedding import text_hash
    from spyglass.index.lexical import LexicalIndex

    rng = np.random.default_rng(3)
    vocab = np.array(_vocab(rng, 50_000))
    ranks = np.arange(1, len(vocab) + 1)
    p = 1.0 / ranks
    p /= p.sum()
    path = Path(args.dir) / "lexical"
    LexicalIndex.destroy(path)
    cat_path = Path(args.dir) / "catalog.sqlite3"
    for f in Path(args.dir).glob("catalog.sqlite3*"):
        f.unlink()
    lex = LexicalIndex(path)
    cat = Catalog(cat_path)
    source = cat.add_source("folder", "/corpus", "corpus")
    base = rss_mb()
    t_lex = t_cat = 0.0
    per_doc, words = 10, 150
    cat.begin()
    for doc in range(args.n // per_doc):
        toks = vocab[rng.choice(len(vocab), size=per_doc * words, p=p)]
        chunks = [Chunk(o, " ".join(toks[o * words:(o + 1) * words]), None, 0, 0) for o in range(per_doc)]
        group = int(rng.integers(0, 50))
        iid, fpath = f"{doc + 1:016x}", f"/corpus/f{doc % 1000}/d{doc}.txt"
        principals = [f"group:g{group}", f"user:u{doc % 500}"]
        t = time.perf_counter()
        item = ItemRow(id=iid, source_id=source.id, parent_id=None, path=fpath, name=f"d{doc}.txt", title=None,
                       type="text", size=per_doc * words * 7, modified=1.7e9 + doc, author=None, status="ok",
                       principals=principals, chunks=chunks)
        lex.put(item, "txt")
        if doc % 20_000 == 19_999:
            lex.commit()
            print(f"lexical {(doc + 1) * per_doc} {t_lex:.0f}s + catalog {t_cat:.0f}s", file=sys.stderr, flush=True)
        t2 = time.perf_counter()
        t_lex += t2 - t
        cat.put_item(ItemRecord(id=iid, source_id=source.id, path=fpath, uri=f"file://{fpath}", name=f"d{doc}.txt",
                                type="text", status="ok", path_raw=fpath.encode(), size=per_doc * words * 7,
                                mtime_ns=int((1.7e9 + doc) * 1e9), modified=1.7e9 + doc,
                                content_hash=f"{doc:064x}"), principals, chunks)
        cat.add_vkeys([(iid, c.ord, text_hash(c.text)) for c in chunks])
        if doc % 1000 == 999:
            cat.commit()
            cat.begin()
        t_cat += time.perf_counter() - t2
    t = time.perf_counter()
    lex.close_writer()
    t_lex += time.perf_counter() - t
    t = time.perf_counter()
    cat.commit()
    cat.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    cat.close()
    t_cat += time.perf_counter() - t
    emit(args, {"phase": "build", "kind": "tantivy", "seconds": round(t_lex, 1),
                "passages_per_s": round(args.n / t_lex), "build_extra_peak_mb": round(peak_mb() - base),
                "disk_mb": round(disk_mb(path), 1), "words_per_passage": words})
    emit(args, {"phase": "build", "kind": "catalog (SQLite)", "seconds": round(t_cat, 1),
                "passages_per_s": round(args.n / t_cat), "disk_mb": round(sum(disk_mb(f) for f in
                                                                             Path(args.dir).glob("catalog.sqlite3*")), 1),
                "words_per_passage": words})


def lex_serve(args: argparse.Namespace) -> None:
    import numpy as np

    from spyglass.core.acl import EVERYTHING
    from spyglass.index.lexical import LexicalIndex
    from spyglass.retrieval.lexical import LexicalRetriever
    from spyglass.retrieval.query import parse

    rng = np.random.default_rng(4)
    vocab = _vocab(np.random.default_rng(3), 50_000)
    base = rss_mb()
    lex = LexicalIndex(Path(args.dir) / "lexical")
    ret = LexicalRetriever(lex)
    ret.search(parse("warm"), principals=EVERYTHING, limit=10)
    resident = rss_mb() - base
    mid = vocab[:5000]  # frequent-to-middling words (the vocabulary is sorted; Zipf ranks were drawn over it)
    queries = [" ".join(rng.choice(mid, size=int(rng.integers(1, 4)))) for _ in range(QUERIES)]
    phrases = [f'"{a} {b}"' for a, b in zip(rng.choice(mid[:500], 50), rng.choice(mid[:500], 50))]
    for name, qs, principals in (("1-3 words", queries, EVERYTHING), ("phrases", phrases, EVERYTHING),
                                 ("1-3 words, ACL filter (2 principals)", queries, ["group:g7", "user:u3"])):
        lat = latencies(lambda q, pr=principals: ret.search(parse(q), principals=pr, limit=10), qs)
        # tantivy memory-maps its files: what it reads joins the resident set (page cache, shared and reclaimable)
        emit(args, {"phase": "serve", "kind": "tantivy", "variant": name, "resident_mb": round(resident),
                    "resident_after_queries_mb": round(rss_mb() - base), **lat})


# -- driver -------------------------------------------------------------------------------------------------------
PHASES = [["gen"], ["build", "--kind", "flat"], ["serve", "--kind", "flat"], ["build", "--kind", "ivfpq"],
          ["serve", "--kind", "ivfpq"], ["serve", "--kind", "ivfpq-sq8"], ["idmap"],
          ["lex-build"], ["lex-serve"], ["build", "--kind", "hnsw"], ["serve", "--kind", "hnsw"]]


def run_all(args: argparse.Namespace) -> None:
    for phase in PHASES:
        if args.only and phase[0] not in args.only and (len(phase) < 3 or phase[2] not in args.only):
            continue
        cmd = [sys.executable, __file__, *phase, "--n", str(args.n), "--dir", args.dir, "--out", args.out]
        print("$", " ".join(phase), file=sys.stderr, flush=True)
        subprocess.run(cmd, check=True)
    if args.clean:
        shutil.rmtree(args.dir, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("phase", choices=["all", "gen", "build", "serve", "idmap", "lex-build", "lex-serve"])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--kind", default="flat")
    ap.add_argument("--dir", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "spyglass-scale"))
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "scale.jsonl"))
    ap.add_argument("--only", nargs="*", help="with all: run only these phases or kinds")
    ap.add_argument("--clean", action="store_true", help="with all: delete --dir afterwards")
    args = ap.parse_args()
    {"all": run_all, "gen": gen, "build": build, "serve": serve, "idmap": idmap, "lex-build": lex_build,
     "lex-serve": lex_serve}[args.phase](args)


if __name__ == "__main__":
    main()
