"""Rich Text Format with striprtf."""

from __future__ import annotations

from spyglass.core.errors import ExtractionError
from spyglass.core.types import Extracted, Segment
from spyglass.extraction.base import Blob, Context


def extract_rtf(blob: Blob, ctx: Context) -> Extracted:
    from striprtf.striprtf import rtf_to_text

    raw = blob.read()
    if not raw.lstrip().startswith(b"{\\rtf"):
        raise ExtractionError("corrupt", "not an RTF document (missing {\\rtf header)")
    try:
        text = rtf_to_text(raw.decode("latin-1"), errors="replace")
    except Exception as exc:  # striprtf raises on malformed control words
        raise ExtractionError("corrupt", f"unreadable RTF: {exc}") from exc
    text = text.strip()[: ctx.text_budget]
    return Extracted(segments=[Segment(text)] if text else [])
