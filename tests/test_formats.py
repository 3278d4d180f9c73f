"""Every supported format, written with its own library, is extracted and found by a word only it contains."""

from __future__ import annotations

import pytest
from conftest import DATA, NO_DATA, hits, keyword_config
from fixtures import UNIQUE, write_all_formats

from spyglass.core.config import LimitSettings
from spyglass.extraction.base import Blob, Context
from spyglass.extraction.registry import extract_blob


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    from spyglass.app.spyglass import Spyglass

    root = tmp_path_factory.mktemp("docs")
    paths = write_all_formats(root)
    sg = Spyglass(tmp_path_factory.mktemp("home"), config=keyword_config())
    stats = sg.index([str(root)])
    yield sg, paths, stats
    sg.close()


@pytest.mark.parametrize("fmt", sorted(UNIQUE))
def test_each_format_is_searchable(indexed, fmt):
    sg, paths, _ = indexed
    res = sg.search(UNIQUE[fmt])
    assert res.total >= 1, f"{fmt}: {UNIQUE[fmt]} not found"
    assert UNIQUE[fmt] in res.hits[0].snippet.lower() or fmt in ("zip", "attachment")


def test_no_failures_on_valid_files(indexed):
    _, _, stats = indexed
    assert stats.failed == 0, stats.errors
    assert stats.added == 19


def test_pdf_pages_and_metadata(indexed):
    sg, *_ = indexed
    h = sg.search(UNIQUE["pdf"]).hits[0]
    assert h.page == 2
    assert h.title == "Quarterly Report"
    assert h.extra["author"] == "Ada Lovelace"


def test_pptx_slide_number(indexed):
    sg, *_ = indexed
    assert sg.search(UNIQUE["pptx"]).hits[0].page == 2


def test_xlsx_sheet_and_odp_page(indexed):
    sg, *_ = indexed
    assert sg.search(UNIQUE["xlsx"]).hits[0].page == 1
    assert sg.search(UNIQUE["odp"]).hits[0].page == 2


def test_docx_title_author_and_table(indexed):
    sg, *_ = indexed
    h = sg.search("tabularasa").hits[0]
    assert h.title == "A Letter" and h.extra["author"] == "Grace Hopper"


def test_html_boilerplate_removed(indexed):
    sg, *_ = indexed
    assert sg.search("scriptonly").total == 0
    h = sg.search(UNIQUE["html"]).hits[0]
    assert h.title == "Jam Page"


def test_markdown_title(indexed):
    sg, *_ = indexed
    assert sg.search(UNIQUE["md"]).hits[0].title == "Festival Guide"


def test_mail_items_and_attachments(indexed):
    sg, paths, _ = indexed
    msg = sg.search(UNIQUE["eml"]).hits[0]
    assert msg.type == "email" and msg.title == "Lunch plans"
    assert "alice@example.com" in msg.extra["author"]
    att = sg.search(UNIQUE["attachment"]).hits[0]
    assert att.parent_id == msg.id and att.extra["name"] == "notes.txt"
    assert att.path == str(paths["eml"])
    first = sg.search(UNIQUE["mbox"]).hits[0]
    assert first.type == "email" and first.title == "First" and first.parent_id is not None
    assert first.uri.startswith("file://") and "#msg/" in first.uri


def test_zip_members(indexed):
    sg, *_ = indexed
    h = sg.search(UNIQUE["zip"]).hits[0]
    assert h.extra["name"] == "inner/readme.txt"


def test_epub_chapters(indexed):
    sg, *_ = indexed
    h = sg.search(UNIQUE["epub"]).hits[0]
    assert h.type == "epub" and h.page == 2


def test_utf16_and_legacy_encodings():
    ctx = Context(LimitSettings())
    for data in ("Grüße aus Köln".encode("utf-16-le"), "Grüße aus Köln".encode("utf-16-be"),
                 "Grüße aus Köln".encode("utf-16"), "Grüße aus Köln, schöne Straße".encode("cp1252")):
        ex = extract_blob(Blob("x.txt", data=data), ctx)
        assert "Köln" in ex.text


def test_long_documents_are_chunked_with_offsets():
    from spyglass.core.types import Segment
    from spyglass.extraction.chunking import chunk_segments

    para = " ".join(f"word{i}" for i in range(120))
    text = "\n\n".join([para] * 6)
    chunks = chunk_segments([Segment("intro", page=1), Segment(text, page=2)], max_words=300)
    assert chunks[0].page == 1 and all(c.page == 2 for c in chunks[1:])
    assert all(len(c.text.split()) <= 300 for c in chunks)
    full = "intro\n\n" + text
    for c in chunks:
        assert full[c.start : c.end].strip() == c.text


@pytest.mark.skipif(not (DATA / "formats").exists(), reason=NO_DATA)
def test_real_documents_corpus(tmp_path):
    """The 246 real documents of the unstructured corpus: indexed without a crash; failures only for files that
    are really unreadable (empty, encrypted), each with a reason."""
    from spyglass.app.spyglass import Spyglass

    root = DATA / "formats" / "unstructured-example-docs" / "example-docs"
    sg = Spyglass(tmp_path / "home", config=keyword_config())
    stats = sg.index([str(root)])
    st = sg.status()
    assert stats.added > 150
    kinds = set(st["failure_reasons"])
    assert kinds <= {"empty", "encrypted", "corrupt"}, st["failures"]
    # the one corrupt item is a truncated JPEG attached to mime-no-body.eml (its pixels are now read, for OCR)
    assert all(f["in"] for f in st["failures"] if f["kind"] == "corrupt"), st["failures"]
    assert all(f["reason"] for f in st["failures"])
    assert hits(sg, '"stanley cups"')
    assert sg.search("password_protected").total >= 1  # an encrypted file is still findable by name
    sg.close()
