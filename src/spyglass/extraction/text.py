"""Plain text, Markdown, reStructuredText, Org and source code: decoded with the encoding detected from the bytes."""

from __future__ import annotations

import codecs
import re

from spyglass.core.errors import ExtractionError
from spyglass.core.types import Extracted, Segment
from spyglass.extraction.base import Blob, Context
from spyglass.extraction.guards import looks_binary, sniff_utf16

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode(data: bytes, what: str = "text") -> str:
    """Decode bytes of unknown encoding; raises ``binary`` for data that is not text."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            return data.decode(enc, errors="replace")
    utf16 = sniff_utf16(data[:8192])
    if utf16:
        return data.decode(utf16, errors="replace")
    if looks_binary(data[:8192]):
        raise ExtractionError("binary", f"binary content, not {what}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data[:1_000_000]).best()
    if best is None:
        raise ExtractionError("binary", f"undecodable bytes, not {what}")
    return data.decode(best.encoding, errors="replace")


_MD_TITLE = re.compile(r"^\s{0,3}#\s+(.+?)\s*#*\s*$", re.MULTILINE)
_RST_TITLE = re.compile(r"^(?P<t>[^\n]+)\n(?P<u>[=\-~#*]{3,})\s*$", re.MULTILINE)
_ORG_TITLE = re.compile(r"^#\+TITLE:\s*(.+)$", re.MULTILINE | re.IGNORECASE)


def extract_text(blob: Blob, ctx: Context) -> Extracted:
    data = blob.read()
    text = decode(data[: ctx.text_budget * 4])[: ctx.text_budget]
    if not text.strip():
        raise ExtractionError("empty", "no text (only whitespace)")
    return Extracted(segments=[Segment(text)])


def extract_markdown(blob: Blob, ctx: Context) -> Extracted:
    out = extract_text(blob, ctx)
    head = out.segments[0].text[:5000]
    m = _MD_TITLE.search(head) or _ORG_TITLE.search(head)
    if m:
        out.title = m.group(1).strip()
    else:
        r = _RST_TITLE.search(head)
        if r and len(r.group("u").strip()) >= len(r.group("t").strip()) - 2:
            out.title = r.group("t").strip()
    return out
