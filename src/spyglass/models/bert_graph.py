"""The packaged MiniLM re-expressed with onnxruntime's fused BERT operators: same weights, fewer passes over memory.

The packaged ``model.onnx`` is a torch-dynamo export whose weights are stored as int8 with one scale per output column
(``W = q · s``) and dequantized inside the graph; after constant folding onnxruntime runs it as an fp32 model whose
attention is ~12 separate operators (two MatMuls, Add of the mask, Softmax, IsNaN, Where, transposes) over
(batch, 12, seq, seq) tensors. This module reads the weights out of that file and builds the standard fused encoder:

    x₀ = EmbedLayerNormalization(ids, types, mask)                          (word + position + type, LayerNorm)
    for each of the 6 layers:
        a  = Attention(x, [W_q W_k W_v], [b_q b_k b_v], lengths)            softmax(QKᵀ/√d_head + mask)·V, 12 heads
        x' = SkipLayerNormalization(a·W_o, x, b_o)                          LayerNorm(x + a·W_o + b_o)
        x  = SkipLayerNormalization(BiasGelu(x'·W_1, b_1)·W_2, x', b_2)     GELU(t) = t·Φ(t) (erf form)

which computes the same function (vectors agree to cosine ≥ 0.9999; tests/test_embedder_speed_paths.py) with the same
weights. ``int8=True`` also quantizes the activations at run time (per tensor, uint8, ``DynamicQuantizeLinear``) and
multiplies them with the packaged int8 weights as they are (``DynamicQuantizeMatMul``, ``QAttention``: u8·s8 integer
GEMMs, AVX-512 VNNI where the CPU has it): faster, but the vectors move (a different ``model_id``).

Needs the ``onnx`` package (to read and write the graph); the embedder falls back to the file as shipped without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

HEADS = 12  # all-MiniLM-L6-v2: 384 hidden = 12 heads x 32
MS = "com.microsoft"


def read_weights(path: Path) -> tuple[dict[str, Any], float]:
    """``{torch parameter name: array}`` of the packaged export, and its LayerNorm epsilon.

    A quantized weight is kept as ``(q int8, scale float32 (1, out))``; everything else as float32.
    """
    import onnx
    from onnx import numpy_helper

    m = onnx.load(str(path))
    init = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    producer = {o: n for n in m.graph.node for o in n.output}
    consumers: dict[str, list[Any]] = {}
    for n in m.graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)

    def quantized(name: str) -> tuple[Any, Any] | None:  # name = Mul(Cast(q), scale) with q, scale stored
        mul = producer.get(name)
        if mul is None or mul.op_type != "Mul" or mul.input[1] not in init:
            return None
        cast = producer.get(mul.input[0])
        if cast is None or cast.op_type != "Cast" or cast.input[0] not in init:
            return None
        return init[cast.input[0]], init[mul.input[1]]

    w: dict[str, Any] = {k: v for k, v in init.items() if k.startswith("inner.") and v.dtype.kind == "f"}
    for n in m.graph.node:
        if n.op_type == "MatMul" and (q := quantized(n.input[1])) is not None:
            add = next(c for c in consumers[n.output[0]] if c.op_type == "Add")
            bias = next(i for i in add.input if i in init)
            w[bias.removesuffix(".bias") + ".weight"] = q
        elif n.op_type == "Gather" and (q := quantized(n.input[0])) is not None:
            w[n.input[0]] = q
    eps = next(a.f for n in m.graph.node if n.op_type == "LayerNormalization" for a in n.attribute
               if a.name == "epsilon")
    return w, float(eps)


def _dense(w: Any) -> Any:
    import numpy as np

    if isinstance(w, tuple):
        q, scale = w
        return q.astype(np.float32) * scale
    return w


class _Graph:
    """Nodes, and weights that stay numpy arrays: the graph names them as external data, handed to onnxruntime from
    memory (``SessionOptions.add_external_initializers``), so 90 MB of weights are never copied into a protobuf."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self.arrays: dict[str, Any] = {}

    def const(self, name: str, arr: Any) -> str:
        import numpy as np
        from onnx import TensorProto, helper

        arr = np.ascontiguousarray(arr)
        t = TensorProto(name=name, data_type=helper.np_dtype_to_tensor_dtype(arr.dtype), dims=arr.shape,
                        data_location=TensorProto.EXTERNAL)
        for key, value in (("location", "memory"), ("offset", "0"), ("length", str(arr.nbytes))):
            t.external_data.add(key=key, value=value)
        self.inits.append(t)
        self.arrays[name] = arr
        return name

    def node(self, op: str, inputs: list[str], outputs: list[str], domain: str = "", **attrs: Any) -> None:
        from onnx import helper

        self.nodes.append(helper.make_node(op, inputs, outputs, domain=domain, **attrs))

    def matmul(self, x: str, w: Any, name: str, int8: bool) -> str:
        """x·W, in fp32 or as u8·s8 with the packaged int8 weight and its per-column scales."""
        if int8 and isinstance(w, tuple):
            q, scale = w
            self.node("DynamicQuantizeMatMul", [x, self.const(name + "_q", q), self.const(name + "_s", scale.ravel())],
                      [name], domain=MS)
        else:
            self.node("MatMul", [x, self.const(name + "_w", _dense(w))], [name])
        return name


def fused_model(w: dict[str, Any], eps: float, int8: bool = False) -> tuple[bytes, dict[str, Any]]:
    """The fused encoder (inputs ``input_ids``, ``attention_mask``, ``token_type_ids``; output ``last_hidden_state``)
    built from :func:`read_weights`' output: the serialized graph and its weights by name (pass them with
    :func:`add_weights`)."""
    import numpy as np
    from onnx import TensorProto, helper

    g = _Graph()
    e = "inner.embeddings."
    for name in ("input_ids", "token_type_ids", "attention_mask"):
        g.node("Cast", [name], [name + "32"], to=TensorProto.INT32)
    g.node("EmbedLayerNormalization",
           ["input_ids32", "token_type_ids32", g.const("word", _dense(w[e + "word_embeddings.weight"])),
            g.const("pos", _dense(w[e + "position_embeddings.weight"])),
            g.const("type", _dense(w[e + "token_type_embeddings.weight"])),
            g.const("emb_ln_g", w[e + "LayerNorm.weight"]), g.const("emb_ln_b", w[e + "LayerNorm.bias"]),
            "attention_mask32"], ["x0", "lengths"], domain=MS, epsilon=eps)
    layers = 1 + max(int(k.split(".")[3]) for k in w if k.startswith("inner.encoder.layer."))
    x = "x0"
    for n in range(layers):
        p = f"inner.encoder.layer.{n}."
        qkv = [w[p + f"attention.self.{s}.weight"] for s in ("query", "key", "value")]
        qkv_b = g.const(f"qkv_b{n}", np.concatenate([w[p + f"attention.self.{s}.bias"] for s in ("query", "key", "value")]))
        if int8 and all(isinstance(t, tuple) for t in qkv):
            g.node("DynamicQuantizeLinear", [x], [f"xq{n}", f"xs{n}", f"xz{n}"])
            g.node("QAttention", [f"xq{n}", g.const(f"qkv_q{n}", np.concatenate([t[0] for t in qkv], axis=1)), qkv_b,
                                  f"xs{n}", g.const(f"qkv_s{n}", np.concatenate([t[1] for t in qkv], axis=1).ravel()),
                                  "lengths", f"xz{n}"], [f"att{n}"], domain=MS, num_heads=HEADS)
        else:
            g.node("Attention", [x, g.const(f"qkv_w{n}", np.concatenate([_dense(t) for t in qkv], axis=1)), qkv_b,
                                 "lengths"], [f"att{n}"], domain=MS, num_heads=HEADS)
        a = g.matmul(f"att{n}", w[p + "attention.output.dense.weight"], f"ao{n}", int8)
        g.node("SkipLayerNormalization", [a, x, g.const(f"ln1_g{n}", w[p + "attention.output.LayerNorm.weight"]),
                                          g.const(f"ln1_b{n}", w[p + "attention.output.LayerNorm.bias"]),
                                          g.const(f"ao_b{n}", w[p + "attention.output.dense.bias"])],
               [f"h{n}"], domain=MS, epsilon=eps)
        i = g.matmul(f"h{n}", w[p + "intermediate.dense.weight"], f"ff1_{n}", int8)
        g.node("BiasGelu", [i, g.const(f"ff1_b{n}", w[p + "intermediate.dense.bias"])], [f"gelu{n}"], domain=MS)
        f = g.matmul(f"gelu{n}", w[p + "output.dense.weight"], f"ff2_{n}", int8)
        out = "last_hidden_state" if n == layers - 1 else f"x{n + 1}"
        g.node("SkipLayerNormalization", [f, f"h{n}", g.const(f"ln2_g{n}", w[p + "output.LayerNorm.weight"]),
                                          g.const(f"ln2_b{n}", w[p + "output.LayerNorm.bias"]),
                                          g.const(f"ff2_b{n}", w[p + "output.dense.bias"])], [out], domain=MS, epsilon=eps)
        x = out
    hidden = int(np.asarray(w[e + "LayerNorm.weight"]).shape[0])
    inputs = [helper.make_tensor_value_info(s, TensorProto.INT64, ["batch", "sequence"])
              for s in ("input_ids", "attention_mask", "token_type_ids")]
    outputs = [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", hidden])]
    graph = helper.make_graph(g.nodes, "minilm-fused-int8" if int8 else "minilm-fused", inputs, outputs, g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(MS, 1)],
                              ir_version=8, producer_name="spyglass")
    return model.SerializeToString(), g.arrays


def add_weights(opts: Any, arrays: dict[str, Any]) -> list[Any]:
    """Give ``arrays`` to onnxruntime ``SessionOptions``; the returned values must live as long as the session."""
    import onnxruntime as ort

    values = [ort.OrtValue.ortvalue_from_numpy(a) for a in arrays.values()]
    opts.add_external_initializers(list(arrays), values)
    return values
