"""EPUB e-books with ebooklib: one segment per chapter (spine order), chapter number kept as the page."""

from __future__ import annotations

import os
import tempfile
import warnings

from spyglass.core.errors import ExtractionError
from spyglass.core.types import Extracted, Segment
from spyglass.extraction.base import Blob, Context
from spyglass.extraction.guards import check_zip


def extract_epub(blob: Blob, ctx: Context) -> Extracted:
    import ebooklib
    from ebooklib import epub
    from lxml import html as lxml_html

    with blob.open() as fh:
        check_zip(fh, ctx).close()
    path = blob.path
    tmp = None
    if path is None:  # ebooklib reads from a path
        tmp = tempfile.NamedTemporaryFile(suffix=".epub", delete=False)
        tmp.write(blob.read())
        tmp.close()
        path = tmp.name
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = epub.read_epub(str(path), options={"ignore_ncx": True})
    except Exception as exc:  # ebooklib raises EpubException, KeyError, lxml errors
        raise ExtractionError("corrupt", f"unreadable EPUB: {type(exc).__name__}: {exc}") from exc
    finally:
        if tmp is not None:
            os.unlink(tmp.name)
    segments: list[Segment] = []
    n = 0
    for item_id, _linear in book.spine:
        item = book.get_item_with_id(item_id)
        if item is None or item.get_type() != ebooklib.ITEM_DOCUMENT or isinstance(item, epub.EpubNav):
            continue
        try:
            tree = lxml_html.fromstring(item.get_content())
        except Exception:  # an empty or broken chapter does not spoil the book
            continue
        for bad in tree.xpath("//script|//style"):
            bad.drop_tree()
        text = "\n".join(s.strip() for s in tree.itertext() if s.strip())
        if text:
            n += 1
            heading = tree.xpath("string((//h1|//h2)[1])").strip() or None
            segments.append(Segment(text, page=n, label=heading))
    def meta(name: str) -> str | None:
        v = book.get_metadata("DC", name)
        return str(v[0][0]).strip() if v and v[0] and v[0][0] else None

    return Extracted(segments=segments, title=meta("title"), author=meta("creator"))
