"""Audio and the audio track of video: speech to text with timestamps (Whisper base, :mod:`spyglass.extraction.whisper`).

Each passage keeps the time where its speech starts (label ``@ 12:31``), so a hit points into the recording. Without
the ``audio`` extra a recording is indexed by name and metadata, and ``status`` says what to install.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from spyglass.core.types import Extracted, Segment
from spyglass.extraction.base import Blob, Context


def clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def extract_audio(blob: Blob, ctx: Context) -> Extracted:
    from spyglass.extraction import whisper

    out = Extracted(meta={})
    if not ctx.media.transcribe:
        return out
    if not whisper.available():
        out.meta["asr"] = "missing"
        out.meta["asr_hint"] = whisper.AUDIO_HINT
        return out
    cache = Path(ctx.media.model_cache) if ctx.media.model_cache else whisper.default_cache()
    model_dir = ctx.media.whisper_model or str(whisper.packaged_model_dir(cache))
    path = str(blob.path) if blob.path is not None else None
    tmp = None
    if path is None:  # an attachment: decode from a temporary copy
        fd, tmp = tempfile.mkstemp(suffix=os.path.splitext(blob.name)[1])
        with os.fdopen(fd, "wb") as f:
            f.write(blob.read())
        path = tmp
    try:
        segments, info = whisper.transcribe(path, model_dir, ctx.media.asr_language or None)
    finally:
        if tmp:
            os.unlink(tmp)
    out.meta.update(asr="done", duration_s=round(float(info.duration), 2), language=info.language)
    budget = ctx.text_budget
    for s in segments:
        text = s.text.strip()
        if text and budget > 0:
            out.segments.append(Segment(text[:budget], label=f"@ {clock(s.start)}"))
            budget -= len(text)
    return out
