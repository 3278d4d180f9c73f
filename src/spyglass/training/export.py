"""Export a trained :class:`~spyglass.training.bert.HeadModel` or :class:`~spyglass.training.bert.Encoder`
(:func:`encoder_to_onnx`) to ONNX for onnxruntime, and quantize it to int8.

The graph takes ``hidden`` (float32, batch × tokens × 384: the packaged MiniLM's last hidden states of the pair,
:class:`spyglass.models.answerer.PairEncoder`) and ``attention_mask`` (int64, batch × tokens), both axes dynamic, and
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

from spyglass.training.bert import HeadModel

INPUTS = ["hidden", "attention_mask"]
OUTPUTS = ["relevance", "start_logits", "end_logits"]


def to_onnx(model: HeadModel, out: Path, dim: int = 384, opset: int = 17) -> Path:
    model.eval()
    args = (torch.randn(2, 7, dim), torch.ones(2, 7, dtype=torch.long))
    axes = {"hidden": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
            "relevance": {0: "batch"}, "start_logits": {0: "batch", 1: "tokens"},
            "end_logits": {0: "batch", 1: "tokens"}}
    out.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notices
        torch.onnx.export(model, args, str(out), input_names=INPUTS, output_names=OUTPUTS, dynamic_axes=axes,
                          opset_version=opset, do_constant_folding=True, dynamo=False)
    return out


ENCODER_INPUTS = ["inputs_embeds", "attention_mask", "token_type_ids"]


def encoder_to_onnx(model: torch.nn.Module, out: Path, dim: int = 384, opset: int = 17) -> Path:
    """An :class:`~spyglass.training.bert.Encoder`: inputs ``inputs_embeds`` (float32, batch × tokens × 384),
    ``attention_mask`` and ``token_type_ids`` (int64, batch × tokens); the same outputs as a head."""
    model.eval()
    args = (torch.randn(2, 7, dim), torch.ones(2, 7, dtype=torch.long), torch.zeros(2, 7, dtype=torch.long))
    axes = {k: {0: "batch", 1: "tokens"} for k in [*ENCODER_INPUTS, "start_logits", "end_logits"]}
    axes["relevance"] = {0: "batch"}
    out.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, args, str(out), input_names=ENCODER_INPUTS, output_names=OUTPUTS, dynamic_axes=axes,
                          opset_version=opset, do_constant_folding=True, dynamo=False)
    return out


def mark(path: Path, props: dict[str, str]) -> Path:
    """Record ``props`` in the file's metadata (``metadata_props``; onnxruntime reads them back with
    ``session.get_modelmeta().custom_metadata_map``): what the model expects beyond its inputs' shapes."""
    import onnx

    model = onnx.load(str(path))
    onnx.helper.set_model_props(model, {**{p.key: p.value for p in model.metadata_props}, **props})
    onnx.save(model, str(path))
    return path


def quantize_int8(src: Path, out: Path) -> Path:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(src), str(out), weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"])
    return out
