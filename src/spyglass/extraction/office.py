"""Office Open XML: Word (python-docx), PowerPoint per slide (python-pptx), Excel per sheet (openpyxl)."""

from __future__ import annotations

import io
from datetime import datetime

from spyglass.core.errors import ExtractionError
from spyglass.core.types import Extracted, Segment
from spyglass.extraction.base import Blob, Context
from spyglass.extraction.guards import check_ooxml


def _ts(value: datetime | None) -> float | None:
    if value is None:
        return None
    try:
        return value.timestamp()
    except (OverflowError, OSError, ValueError):
        return None


def _open_checked(blob: Blob, ctx: Context) -> io.BytesIO:
    data = blob.read()
    fh = io.BytesIO(data)
    check_ooxml(fh, ctx).close()
    fh.seek(0)
    return fh


def _corrupt(what: str, exc: Exception) -> ExtractionError:
    return ExtractionError("corrupt", f"unreadable {what}: {type(exc).__name__}: {exc}")


def extract_docx(blob: Blob, ctx: Context) -> Extracted:
    import docx

    fh = _open_checked(blob, ctx)
    try:
        d = docx.Document(fh)
    except Exception as exc:  # python-docx raises KeyError/ValueError/PackageNotFoundError on broken parts
        raise _corrupt("Word document", exc) from exc
    parts: list[str] = []
    # Walk paragraphs and tables in document order, reading text runs from the XML directly: robust to the
    # irregular table grids that python-docx's Table API rejects.
    from docx.oxml.ns import qn

    w_t, w_p, w_tc, w_tr = qn("w:t"), qn("w:p"), qn("w:tc"), qn("w:tr")

    def para_text(p) -> str:
        return "".join(t.text or "" for t in p.iter(w_t)).strip()

    for child in d.element.body.iterchildren():
        tag = child.tag if isinstance(child.tag, str) else ""
        if tag == w_p:
            t = para_text(child)
            if t:
                parts.append(t)
        elif tag == qn("w:tbl"):
            for tr in child.iter(w_tr):
                cells = []
                for tc in tr.iterchildren(w_tc):
                    t = " ".join(x for x in (para_text(p) for p in tc.iter(w_p)) if x)
                    if t:
                        cells.append(t)
                if cells:
                    parts.append(" | ".join(cells))
    for section in d.sections:
        for hf in (section.header, section.footer):
            try:
                t = "\n".join(p.text for p in hf.paragraphs if p.text.strip())
            except Exception:  # headers of some generators reference missing parts
                t = ""
            if t and t not in parts:
                parts.append(t)
    cp = d.core_properties
    text = "\n".join(parts)[: ctx.text_budget]
    return Extracted(
        segments=[Segment(text)] if text else [],
        title=(cp.title or "").strip() or None,
        author=(cp.author or "").strip() or None,
        created=_ts(cp.created),
    )


def extract_pptx(blob: Blob, ctx: Context) -> Extracted:
    from pptx import Presentation

    fh = _open_checked(blob, ctx)
    try:
        prs = Presentation(fh)
    except Exception as exc:
        raise _corrupt("PowerPoint file", exc) from exc
    segments: list[Segment] = []
    title = None
    for n, slide in enumerate(prs.slides, start=1):
        if n > ctx.limits.max_pages:
            break
        lines: list[str] = []

        def walk(shapes) -> None:
            for shape in shapes:
                if shape.shape_type == 6 and hasattr(shape, "shapes"):  # group
                    walk(shape.shapes)
                    continue
                if getattr(shape, "has_text_frame", False) and shape.text_frame.text.strip():
                    lines.append(shape.text_frame.text.strip())
                if getattr(shape, "has_table", False):
                    for row in shape.table.rows:
                        cells = [c.text.strip() for c in row.cells if c.text.strip()]
                        if cells:
                            lines.append(" | ".join(cells))

        walk(slide.shapes)
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
            notes = slide.notes_slide.notes_text_frame.text.strip()
            if notes:
                lines.append(notes)
        if title is None and slide.shapes.title is not None and slide.shapes.title.text.strip():
            title = slide.shapes.title.text.strip()
        if lines:
            segments.append(Segment("\n".join(lines), page=n))
    cp = prs.core_properties
    return Extracted(
        segments=segments,
        title=(cp.title or "").strip() or title,
        author=(cp.author or "").strip() or None,
        created=_ts(cp.created),
        meta={"slides": len(prs.slides)},
    )


def _row_text(values) -> str:
    return " | ".join(str(v).strip() for v in values if v is not None and str(v).strip())


def extract_xlsx(blob: Blob, ctx: Context) -> Extracted:
    import openpyxl

    fh = _open_checked(blob, ctx)
    try:
        wb = openpyxl.load_workbook(fh, read_only=True, data_only=True)
    except Exception as exc:
        raise _corrupt("Excel workbook", exc) from exc
    segments: list[Segment] = []
    budget = ctx.text_budget
    try:
        for n, ws in enumerate(wb.worksheets, start=1):
            if n > ctx.limits.max_pages or budget <= 0:
                break
            rows: list[str] = []
            for values in ws.iter_rows(values_only=True):
                t = _row_text(values)
                if t:
                    rows.append(t)
                    budget -= len(t) + 1
                    if budget <= 0:
                        break
            if rows:
                segments.append(Segment("\n".join(rows), page=n, label=ws.title))
        props = wb.properties
        return Extracted(
            segments=segments,
            title=(props.title or "").strip() or None,
            author=(props.creator or "").strip() or None,
            created=_ts(props.created),
            meta={"sheets": len(wb.worksheets)},
        )
    finally:
        wb.close()
