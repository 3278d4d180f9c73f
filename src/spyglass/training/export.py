"""Export a trained :class:`~spyglass.training.bert.QAModel` to ONNX for onnxruntime, and quantize it to int8.

The graph takes ``input_ids``, ``attention_mask``, ``token_type_ids`` (int64, batch × tokens, both axes dynamic) and
returns ``relevance`` (batch), ``start_logits`` and ``end_logits`` (batch × tokens): what
:class:`spyglass.models.answerer.OnnxReader` and :class:`spyglass.ranking.cross_encoder.CrossEncoder` read.

int8: dynamic quantization of the weights of every MatMul (per-channel, signed int8; activations quantized per batch at
run time), as the packaged MiniLM embedder was made. Whether it keeps quality is measured, not assumed
(:func:`spyglass.training.pipeline.run` compares the fp32 and int8 files on held-out data).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from spyglass.training.bert import QAModel

INPUTS = ["input_ids", "attention_mask", "token_type_ids"]
OUTPUTS = ["relevance", "start_logits", "end_logits"]


def to_onnx(model: QAModel, out: Path, opset: int = 17) -> Path:
    model.eval()
    ids = torch.tensor([[101, 2054, 2003, 102, 1996, 3437, 102]], dtype=torch.long)
    args = (ids, torch.ones_like(ids), torch.tensor([[0, 0, 0, 0, 1, 1, 1]], dtype=torch.long))
    axes = {n: {0: "batch", 1: "tokens"} for n in INPUTS}
    axes.update({"relevance": {0: "batch"}, "start_logits": {0: "batch", 1: "tokens"},
                 "end_logits": {0: "batch", 1: "tokens"}})
    out.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notices
        torch.onnx.export(model, args, str(out), input_names=INPUTS, output_names=OUTPUTS, dynamic_axes=axes,
                          opset_version=opset, do_constant_folding=True, dynamo=False)
    return out


def quantize_int8(src: Path, out: Path) -> Path:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(src), str(out), weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"])
    return out
