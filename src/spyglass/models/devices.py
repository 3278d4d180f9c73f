"""Where onnxruntime runs a model (``[embedding] device``): the execution providers, and a check after loading."""

from __future__ import annotations

from typing import Any

from spyglass.core.errors import MissingExtraError, SpyglassError

GPU_HINT = ("pip uninstall -y onnxruntime && pip install 'spyglass[gpu]' (onnxruntime-gpu replaces onnxruntime; "
            "it needs an NVIDIA driver with CUDA 12 and cuDNN 9), or set [embedding] device = \"cpu\"")


def providers(device: str, ort: Any) -> list[str]:
    """onnxruntime execution providers for ``device`` (``cpu`` | ``cuda``); CUDA falls back to nothing silently:
    without the CUDA provider it is an error that names the extra."""
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device != "cuda":
        raise SpyglassError(f"[embedding] device = {device!r}: expected \"cpu\" or \"cuda\"")
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        raise MissingExtraError("[embedding] device = \"cuda\"", "gpu", "onnxruntime-gpu", GPU_HINT)
    return ["CUDAExecutionProvider", "CPUExecutionProvider"]


def check_device(device: str, session: Any) -> None:
    """After loading: onnxruntime drops the CUDA provider (with only a log line) when the driver or a CUDA library is
    missing; a session asked for CUDA that did not get it is an error, not a slow CPU run."""
    if device == "cuda" and "CUDAExecutionProvider" not in session.get_providers():
        raise SpyglassError("[embedding] device = \"cuda\" but onnxruntime could not start CUDA here (no GPU, driver "
                            f"or CUDA/cuDNN libraries): {GPU_HINT}")
