"""OpenDocument text, presentations (per page) and spreadsheets (per sheet) with odfpy."""

from __future__ import annotations

import io

from spyglass.core.errors import ExtractionError
from spyglass.core.types import Extracted, Segment
from spyglass.extraction.base import Blob, Context
from spyglass.extraction.guards import check_zip, read_member


def _load(blob: Blob, ctx: Context):
    from odf.opendocument import load

    data = blob.read()
    fh = io.BytesIO(data)
    zf = check_zip(fh, ctx)
    try:
        manifest = read_member(zf, zf.getinfo("META-INF/manifest.xml"), ctx)
    except KeyError:
        manifest = b""
    if b"encryption-data" in manifest:
        raise ExtractionError("encrypted", "password-protected OpenDocument file")
    fh.seek(0)
    try:
        return load(fh)
    except Exception as exc:  # odfpy raises KeyError, xml errors on broken packages
        raise ExtractionError("corrupt", f"unreadable OpenDocument file: {type(exc).__name__}: {exc}") from exc


def _meta(doc) -> tuple[str | None, str | None, float | None]:
    from odf import dc, meta, teletype

    def first(el) -> str | None:
        found = doc.meta.getElementsByType(el)
        return teletype.extractText(found[0]).strip() or None if found else None

    created = None
    raw = first(meta.CreationDate)
    if raw:
        from datetime import datetime

        try:
            created = datetime.fromisoformat(raw).timestamp()
        except ValueError:
            created = None
    return first(dc.Title), first(dc.Creator) or first(meta.InitialCreator), created


def _paragraphs(node) -> list[str]:
    from odf import teletype, text

    out: list[str] = []
    for el in node.getElementsByType(text.P) + node.getElementsByType(text.H):
        t = teletype.extractText(el).strip()
        if t:
            out.append(t)
    return out


def extract_odt(blob: Blob, ctx: Context) -> Extracted:
    doc = _load(blob, ctx)
    from odf import teletype, text

    parts: list[str] = []
    # document order: headings and paragraphs as they appear in the body
    for el in doc.text.childNodes:
        for node in [el]:
            if node.qname[1] in ("p", "h"):
                t = teletype.extractText(node).strip()
                if t:
                    parts.append(t)
            elif hasattr(node, "getElementsByType"):
                parts.extend(
                    teletype.extractText(p).strip()
                    for p in node.getElementsByType(text.P)
                    if teletype.extractText(p).strip()
                )
    title, author, created = _meta(doc)
    body = "\n".join(parts)[: ctx.text_budget]
    return Extracted(segments=[Segment(body)] if body else [], title=title, author=author, created=created)


def extract_odp(blob: Blob, ctx: Context) -> Extracted:
    doc = _load(blob, ctx)
    from odf import draw

    segments = []
    for n, page in enumerate(doc.presentation.getElementsByType(draw.Page), start=1):
        lines = _paragraphs(page)
        if lines:
            segments.append(Segment("\n".join(lines), page=n))
    title, author, created = _meta(doc)
    return Extracted(segments=segments, title=title, author=author, created=created)


def extract_ods(blob: Blob, ctx: Context) -> Extracted:
    doc = _load(blob, ctx)
    from odf import table, teletype

    segments = []
    for n, sheet in enumerate(doc.spreadsheet.getElementsByType(table.Table), start=1):
        rows = []
        for row in sheet.getElementsByType(table.TableRow):
            cells = [teletype.extractText(c).strip() for c in row.getElementsByType(table.TableCell)]
            cells = [c for c in cells if c]
            if cells:
                rows.append(" | ".join(cells))
        if rows:
            segments.append(Segment("\n".join(rows)[: ctx.text_budget], page=n, label=sheet.getAttribute("name")))
    title, author, created = _meta(doc)
    return Extracted(segments=segments, title=title, author=author, created=created)
