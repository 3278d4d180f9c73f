"""Real documents of every supported format, written with the formats' own libraries. Each holds a unique word
(``UNIQUE[fmt]``) so a test can find it through search."""

from __future__ import annotations

import io
import json
import mailbox
import zipfile
from email.message import EmailMessage
from pathlib import Path

UNIQUE = {
    "txt": "zanzibarite",
    "md": "quokkafest",
    "py": "frobnicator",
    "html": "marmaladeon",
    "pdf": "pdfalicious",
    "docx": "wordsmithery",
    "pptx": "slidewinder",
    "xlsx": "cellarium",
    "csv": "commaflage",
    "odt": "opendocky",
    "odp": "impressario",
    "ods": "calcutron",
    "epub": "bookwormery",
    "rtf": "richtexty",
    "eml": "emailicious",
    "mbox": "mailboxer",
    "json": "jasonite",
    "yaml": "yamlicious",
    "zip": "zipperoo",
    "attachment": "attachmento",
}


def write_pdf(path: Path, pages: list[str], title: str | None = None, author: str | None = None,
              encrypt: str | None = None) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4, encrypt=encrypt)
    if title:
        c.setTitle(title)
    if author:
        c.setAuthor(author)
    for text in pages:
        y = 800
        for line in text.split("\n"):
            c.drawString(72, y, line)
            y -= 16
        c.showPage()
    c.save()


def write_docx(path: Path, paragraphs: list[str], title: str | None = None, table: list[list[str]] | None = None,
               author: str | None = None) -> None:
    import docx

    d = docx.Document()
    for p in paragraphs:
        d.add_paragraph(p)
    if table:
        t = d.add_table(rows=len(table), cols=len(table[0]))
        for i, row in enumerate(table):
            for j, v in enumerate(row):
                t.cell(i, j).text = v
    if title:
        d.core_properties.title = title
    if author:
        d.core_properties.author = author
    d.save(str(path))


def write_pptx(path: Path, slides: list[tuple[str, str]]) -> None:
    from pptx import Presentation

    prs = Presentation()
    for title, body in slides:
        s = prs.slides.add_slide(prs.slide_layouts[1])
        s.shapes.title.text = title
        s.placeholders[1].text = body
        s.notes_slide.notes_text_frame.text = f"notes for {title}"
    prs.save(str(path))


def write_xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(r)
    wb.save(str(path))


def write_odt(path: Path, paragraphs: list[str], title: str | None = None) -> None:
    from odf import dc, text
    from odf.opendocument import OpenDocumentText

    doc = OpenDocumentText()
    if title:
        doc.meta.addElement(dc.Title(text=title))
    for p in paragraphs:
        doc.text.addElement(text.P(text=p))
    doc.save(str(path))


def write_odp(path: Path, pages: list[str]) -> None:
    from odf import draw, style, text
    from odf.opendocument import OpenDocumentPresentation

    doc = OpenDocumentPresentation()
    layout = style.PageLayout(name="L")
    doc.automaticstyles.addElement(layout)
    master = style.MasterPage(name="M", pagelayoutname=layout)
    doc.masterstyles.addElement(master)
    for i, body in enumerate(pages):
        page = draw.Page(name=f"p{i}", masterpagename=master)
        frame = draw.Frame(width="20cm", height="10cm", x="1cm", y="1cm")
        box = draw.TextBox()
        box.addElement(text.P(text=body))
        frame.addElement(box)
        page.addElement(frame)
        doc.presentation.addElement(page)
    doc.save(str(path))


def write_ods(path: Path, rows: list[list[str]]) -> None:
    from odf import table, text
    from odf.opendocument import OpenDocumentSpreadsheet

    doc = OpenDocumentSpreadsheet()
    t = table.Table(name="Sheet1")
    for r in rows:
        tr = table.TableRow()
        for v in r:
            tc = table.TableCell()
            tc.addElement(text.P(text=v))
            tr.addElement(tc)
        t.addElement(tr)
    doc.spreadsheet.addElement(t)
    doc.save(str(path))


def write_epub(path: Path, chapters: list[tuple[str, str]], title: str = "A Book") -> None:
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("id123")
    book.set_title(title)
    book.set_language("en")
    book.add_author("Jane Author")
    items = []
    for i, (head, body) in enumerate(chapters):
        c = epub.EpubHtml(title=head, file_name=f"chap_{i}.xhtml", lang="en")
        c.content = f"<html><body><h1>{head}</h1><p>{body}</p></body></html>"
        book.add_item(c)
        items.append(c)
    book.toc = items
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", *items]
    epub.write_epub(str(path), book)


def make_message(subject: str, body: str, sender: str, to: list[str], attachment: tuple[str, bytes] | None = None,
                 date: str = "Tue, 14 Jan 2025 10:00:00 +0000", msgid: str | None = None) -> EmailMessage:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = ", ".join(to)
    m["Subject"] = subject
    m["Date"] = date
    if msgid:
        m["Message-ID"] = msgid
    m.set_content(body)
    if attachment:
        name, data = attachment
        m.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return m


def write_all_formats(root: Path) -> dict[str, Path]:
    """One file per supported format under ``root``; returns format -> path."""
    root.mkdir(parents=True, exist_ok=True)
    u = UNIQUE
    p: dict[str, Path] = {}
    p["txt"] = root / "notes.txt"
    p["txt"].write_text(f"Plain notes about the {u['txt']} mineral.\n")
    p["md"] = root / "readme.md"
    p["md"].write_text(f"# Festival Guide\n\nThe {u['md']} starts at noon.\n")
    p["py"] = root / "tool.py"
    p["py"].write_text(f"def {u['py']}():\n    return 42\n")
    p["html"] = root / "page.html"
    p["html"].write_text(
        "<html><head><title>Jam Page</title><script>var x='scriptonly';</script></head><body>"
        "<nav>Home | About | Contact</nav><article><h1>Jam</h1><p>"
        f"The {u['html']} recipe needs oranges, sugar and patience. " * 3 + "</p></article>"
        "<footer>Copyright footer</footer></body></html>"
    )
    p["pdf"] = root / "report.pdf"
    write_pdf(p["pdf"], ["First page intro text.", f"Second page mentions {u['pdf']} here."],
              title="Quarterly Report", author="Ada Lovelace")
    p["docx"] = root / "letter.docx"
    write_docx(p["docx"], ["Dear reader,", f"This letter is about {u['docx']}."], title="A Letter",
               table=[["name", "value"], ["alpha", "tabularasa"]], author="Grace Hopper")
    p["pptx"] = root / "deck.pptx"
    write_pptx(p["pptx"], [("Intro", "welcome"), ("Second", f"the {u['pptx']} slide")])
    p["xlsx"] = root / "sheet.xlsx"
    write_xlsx(p["xlsx"], {"Budget": [["item", "cost"], [u["xlsx"], 12.5]], "Other": [["x", "y"]]})
    p["csv"] = root / "table.csv"
    p["csv"].write_text(f"name,value\n{u['csv']},3\nother,4\n")
    p["odt"] = root / "doc.odt"
    write_odt(p["odt"], ["Open text", f"mentions {u['odt']}"], title="Open Title")
    p["odp"] = root / "slides.odp"
    write_odp(p["odp"], ["first page", f"second {u['odp']}"])
    p["ods"] = root / "calc.ods"
    write_ods(p["ods"], [["a", "b"], [u["ods"], "1"]])
    p["epub"] = root / "book.epub"
    write_epub(p["epub"], [("Chapter One", "It begins."), ("Chapter Two", f"The {u['epub']} appears.")])
    p["rtf"] = root / "memo.rtf"
    p["rtf"].write_text("{\\rtf1\\ansi{\\fonttbl\\f0\\fswiss Helvetica;}\\f0\\pard This memo mentions "
                        f"{u['rtf']}.\\par}}")
    p["eml"] = root / "message.eml"
    msg = make_message("Lunch plans", f"Let's discuss {u['eml']} at lunch.", "Alice <alice@example.com>",
                       ["bob@example.com"], attachment=("notes.txt", f"attached {u['attachment']}".encode()))
    p["eml"].write_bytes(msg.as_bytes())
    p["mbox"] = root / "archive.mbox"
    box = mailbox.mbox(str(p["mbox"]))
    box.add(make_message("First", f"hello {u['mbox']}", "carol@example.com", ["dave@example.com"],
                         msgid="<m1@example.com>"))
    box.add(make_message("Second", "another message", "dave@example.com", ["carol@example.com"],
                         msgid="<m2@example.com>"))
    box.close()
    p["json"] = root / "data.json"
    p["json"].write_text(json.dumps({"name": u["json"], "nested": {"k": [1, 2]}}))
    p["yaml"] = root / "conf.yaml"
    p["yaml"].write_text(f"service:\n  name: {u['yaml']}\n  port: 8080\n")
    p["zip"] = root / "bundle.zip"
    with zipfile.ZipFile(p["zip"], "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("inner/readme.txt", f"inside the archive: {u['zip']}")
        zf.writestr("inner/image.png", b"\x89PNG fake")
    return p


def zip_bomb(path: Path, mb: int = 64) -> None:
    """A small zip that declares ``mb`` MB of zeros (ratio ~1000:1)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.txt", b"\0" * (mb * 1024 * 1024))
    path.write_bytes(buf.getvalue())


COLOURS = ("red", "green", "blue")


def write_tiny_clip(folder: Path) -> dict[str, str]:
    """A tiny CLIP-style pair of ONNX towers (built here, no weights): the image tower embeds an image as its mean
    RGB colour; the text tower embeds a text as the sum of its colour words (red, green, blue as unit axes). So
    "red" is closest to a red photo — enough to test the plumbing (preprocessing, batching, tokenizer, fusion,
    filters) with real onnxruntime sessions. Returns the [media] settings that load it."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    folder.mkdir(parents=True, exist_ok=True)
    px = helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, ["batch", 3, "h", "w"])
    img_out = helper.make_tensor_value_info("image_embeds", TensorProto.FLOAT, ["batch", 3])
    axes = helper.make_tensor("axes", TensorProto.INT64, [2], [2, 3])
    g = helper.make_graph([helper.make_node("ReduceMean", ["pixel_values", "axes"], ["image_embeds"], keepdims=0)],
                          "tiny_image_tower", [px], [img_out], initializer=[axes])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)], ir_version=8), str(folder / "image.onnx"))

    vocab = {"[PAD]": 0, "[UNK]": 1, **{c: i + 2 for i, c in enumerate(COLOURS)}}
    table = np.zeros((len(vocab), 3), dtype=np.float32)
    for i, _c in enumerate(COLOURS):
        table[i + 2, i] = 1.0
    ids = helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"])
    txt_out = helper.make_tensor_value_info("text_embeds", TensorProto.FLOAT, ["batch", 3])
    axis1 = helper.make_tensor("axis1", TensorProto.INT64, [1], [1])
    g = helper.make_graph([helper.make_node("Gather", ["table", "input_ids"], ["tok"], axis=0),
                           helper.make_node("ReduceSum", ["tok", "axis1"], ["text_embeds"], keepdims=0)],
                          "tiny_text_tower", [ids], [txt_out],
                          initializer=[numpy_helper.from_array(table, "table"), axis1])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)], ir_version=8), str(folder / "text.onnx"))
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(folder / "tokenizer.json"))
    return {"clip_image_model": str(folder / "image.onnx"), "clip_text_model": str(folder / "text.onnx"),
            "clip_tokenizer": str(folder / "tokenizer.json"), "clip_image_size": 32,
            "clip_mean": [0.0, 0.0, 0.0], "clip_std": [1.0, 1.0, 1.0], "clip_max_length": 8}


def solid_photo(path: Path, colour: str, size=(64, 48)) -> None:
    from PIL import Image

    Image.new("RGB", size, colour).save(path)
