"""PDF: text per page with pypdfium2 (PDFium, the engine in Chrome), page numbers kept."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from spyglass.core.errors import ExtractionError
from spyglass.core.types import Extracted, Segment
from spyglass.extraction.base import Blob, Context

_PDF_DATE = re.compile(r"D?:?(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?")


def parse_pdf_date(value: str | None) -> float | None:
    """PDF dates look like ``D:20240131120000+01'00'``; the offset is ignored (UTC assumed)."""
    if not value:
        return None
    m = _PDF_DATE.match(value.strip())
    if not m:
        return None
    parts = [int(p) if p else d for p, d in zip(m.groups(), (None, 1, 1, 0, 0, 0))]
    try:
        return datetime(*parts, tzinfo=timezone.utc).timestamp()  # type: ignore[misc]
    except (ValueError, TypeError):
        return None


def _ocr_pages(pdf, pages: list[int], segments: list[Segment], ctx: Context) -> str:
    """OCR pages that have no text layer (scans); born-digital pages are never OCR'd."""
    from spyglass.extraction.ocr import ocr_available, ocr_image

    if not ctx.media.ocr:
        return "off"
    if not ocr_available(ctx.media.tesseract):
        return "missing"
    for i in pages[: ctx.media.ocr_max_pages]:
        page = pdf[i]
        try:
            image = page.render(scale=ctx.media.ocr_dpi / 72).to_pil()
        finally:
            page.close()
        text = ocr_image(image, ctx.media.ocr_languages, ctx.media.ocr_page_timeout_s).text.strip()
        if text:
            segments.append(Segment(text, page=i + 1, label="OCR"))
    return "done"


def extract_pdf(blob: Blob, ctx: Context) -> Extracted:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(blob.path if blob.data is None else blob.data)
    except pdfium.PdfiumError as exc:
        msg = str(exc)
        if "password" in msg.lower():
            raise ExtractionError("encrypted", "password-protected PDF") from exc
        raise ExtractionError("corrupt", f"unreadable PDF: {msg}") from exc
    try:
        meta = pdf.get_metadata_dict(skip_empty=True)
        segments: list[Segment] = []
        budget = ctx.text_budget
        n = min(len(pdf), ctx.limits.max_pages)
        scanned: list[int] = []  # pages without a text layer
        for i in range(n):
            page = pdf[i]
            try:
                textpage = page.get_textpage()
                text = textpage.get_text_bounded() or ""
                textpage.close()
            finally:
                page.close()
            text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
            if text:
                segments.append(Segment(text[:budget], page=i + 1))
                budget -= len(text)
                if budget <= 0:
                    break
            else:
                scanned.append(i)
        ocr_state = _ocr_pages(pdf, scanned, segments, ctx) if scanned and budget > 0 else None
        segments.sort(key=lambda s: s.page or 0)
        out = Extracted(
            segments=segments,
            title=(meta.get("Title") or "").strip() or None,
            author=(meta.get("Author") or "").strip() or None,
            created=parse_pdf_date(meta.get("CreationDate")),
            meta={"pages": len(pdf), **({"ocr": ocr_state} if ocr_state else {})},
        )
    finally:
        pdf.close()
    if not out.segments:
        # No text layer and no OCR text (OCR off, not installed, or nothing legible): findable by name.
        out.meta["no_text_layer"] = True
    return out
