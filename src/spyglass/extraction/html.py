"""HTML and XML pages: main content with boilerplate (navigation, footers, scripts) removed by trafilatura."""

from __future__ import annotations

from spyglass.core.errors import ExtractionError
from spyglass.core.types import Extracted, Segment
from spyglass.extraction.base import Blob, Context
from spyglass.extraction.text import decode


def html_to_text(html: str) -> tuple[str, str | None, str | None]:
    """(text, title, author) of an HTML document; falls back to all visible text when trafilatura finds no
    main content (short pages)."""
    import trafilatura
    from lxml import html as lxml_html

    title = author = None
    text = ""
    try:
        doc = trafilatura.bare_extraction(
            html, include_comments=False, include_tables=True, favor_recall=True, with_metadata=True
        )
    except Exception:  # trafilatura raises assorted errors on odd markup; fall back below
        doc = None
    if doc is not None:
        text = (doc.text or "").strip()
        title = doc.title
        author = doc.author
    if not text or title is None:
        try:
            tree = lxml_html.fromstring(html)
        except Exception as exc:  # lxml ParserError, ValueError on empty documents
            if not text:
                raise ExtractionError("corrupt", f"unparseable HTML: {exc}") from exc
            tree = None
        if tree is not None:
            if title is None:
                t = tree.findtext(".//title")
                title = t.strip() if t and t.strip() else None
            if not text:
                for bad in tree.xpath("//script|//style|//noscript"):
                    bad.drop_tree()
                text = "\n".join(s.strip() for s in tree.itertext() if s.strip())
    return text, title, author


def extract_html(blob: Blob, ctx: Context) -> Extracted:
    raw = decode(blob.read(), "HTML")
    text, title, author = html_to_text(raw)
    if not text.strip():
        raise ExtractionError("empty", "no visible text in the page")
    return Extracted(segments=[Segment(text[: ctx.text_budget])], title=title, author=author)


def extract_xml(blob: Blob, ctx: Context) -> Extracted:
    from lxml import etree

    raw = blob.read()
    try:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=True)
        root = etree.fromstring(raw, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise ExtractionError("corrupt", f"invalid XML: {exc}") from exc
    if root is None:
        raise ExtractionError("corrupt", "invalid XML: no root element")
    text = "\n".join(s.strip() for s in root.itertext() if s.strip())
    if not text:
        raise ExtractionError("empty", "no text in the XML document")
    return Extracted(segments=[Segment(text[: ctx.text_budget])])
