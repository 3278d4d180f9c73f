"""14.8: text is text. A file with an extension Spyglass does not know is read when its bytes are text (UTF-8, or an
encoding the charset detector is sure of, UTF-16 included); binary stays findable by name. Images attached to mail
get OCR like image files, on a retry too; a HEIC photo that failed for want of pillow-heif is read once it is
installed.

Found on the first hour: 1,960 plain-text Enron mails named ``*.subject`` were indexed by name only; five images in
.eml files never got OCR after Tesseract was installed; a HEIC photo stayed failed with pillow-heif installed
(``--retry-failed`` handed the worker the failed file's hash, so it answered "unchanged").
"""

from __future__ import annotations

import io
import os
import shutil
from email.message import EmailMessage
from pathlib import Path

import pytest

from .secutil import DATA, cli, keyword_config, keyword_home, open_sg, rows, top_row

ENRON = DATA / "mail" / "enron-aeslc" / "dev"
HEIC = DATA / "formats" / "unstructured-example-docs" / "example-docs" / "img" / "DA-1p.heic"


def test_unknown_extensions_are_sniffed_and_read_as_text(tmp_path):
    root = tmp_path / "d"
    root.mkdir()
    (root / "notes.subject").write_text("meeting confirmation for the quarterly tangerine review\n")
    (root / "latin1.memo").write_bytes("Café crème brûlée à la française, réunion déjà prévue. ".encode("latin-1") * 20)
    (root / "wide.note").write_bytes("utf sixteen words pomegranate".encode("utf-16"))
    (root / "README-ish").write_text("an extensionless text file about gooseberry\n")
    (root / "blob.bin2").write_bytes(os.urandom(4000))
    (root / "image.dat").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(2000))
    sg = open_sg(tmp_path / "home")
    stats = sg.index([str(root)])
    assert stats.failed == 0, sg.status()["failures"]
    for word, name in (("tangerine", "notes.subject"), ("crème", "latin1.memo"), ("pomegranate", "wide.note"),
                       ("gooseberry", "README-ish")):
        assert [h.extra["name"] for h in sg.search(word).hits] == [name], word
        assert top_row(sg, root / name)["type"] == "text"
    for name in ("blob.bin2", "image.dat"):  # binary: by name only, and no error
        r = top_row(sg, root / name)
        assert r["status"] == "metadata" and r["type"] == "other", r
    sg.close()


def test_the_enron_subject_mails_are_read(tmp_path):
    if not ENRON.is_dir():
        pytest.skip(f"shared data not present: {ENRON}")
    root = tmp_path / "enron"
    root.mkdir()
    files = sorted(ENRON.glob("*.subject"))[:40]
    for f in files:
        shutil.copy(f, root / f.name)
    sg = open_sg(tmp_path / "home")
    sg.index([str(root)])
    ok = rows(sg, "parent_id IS NULL AND status = 'ok' AND type = 'text'")
    assert len(ok) == len(files)
    first = files[0].read_text(errors="replace").split()[:6]
    assert sg.search(" ".join(w for w in first if w.isalpha())).total >= 1
    sg.close()


def _png_with_text(text: str) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (900, 160), "white")
    ImageDraw.Draw(img).text((20, 40), text, fill="black", font=ImageFont.load_default(size=64))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def test_images_attached_to_mail_get_ocr_on_a_retry_like_image_files(tmp_path):
    from spyglass.extraction.ocr import ocr_available

    if not ocr_available():
        pytest.skip("needs Tesseract (apt-get install tesseract-ocr; scripts/bootstrap.sh installs it)")
    root = tmp_path / "d"
    root.mkdir()
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "a@example.com", "b@example.com", "scan attached"
    m.set_content("see the attached scan")
    m.add_attachment(_png_with_text("PAPAYA INVOICE"), maintype="image", subtype="png", filename="scan.png")
    (root / "mail.eml").write_bytes(m.as_bytes())
    (root / "photo.png").write_bytes(_png_with_text("MANGO RECEIPT"))
    cfg = keyword_config()
    cfg.media.tesseract = str(tmp_path / "no-tesseract-here")  # OCR missing on the first run
    sg = open_sg(tmp_path / "home", cfg)
    sg.index([str(root)])
    assert sg.status()["media"]["ocr_pending"] == 2
    sg.close()
    sg = open_sg(tmp_path / "home")  # Tesseract now "installed"
    sg.index(retry_failed=True)
    assert sg.status()["media"]["ocr_pending"] == 0
    assert sg.search("mango").total == 1
    assert sg.search("papaya").total == 1, "the image inside the mail was not read again"
    sg.close()


def _no_ocr_home(home: Path) -> Path:
    """These tests are about decoding HEIC, not reading its text: OCR off keeps them short."""
    keyword_home(home)
    (home / "config.toml").write_text("[embedding]\nenabled = false\n[media]\nocr = false\n")
    return home


def test_a_heic_photo_is_read_once_pillow_heif_is_installed(tmp_path):
    if not HEIC.exists():
        pytest.skip(f"shared data not present: {HEIC}")
    pytest.importorskip("pillow_heif", reason="needs the media extra (pillow-heif)")
    root = tmp_path / "photos"
    root.mkdir()
    shutil.copy(HEIC, root / HEIC.name)
    (root / "other.heic").write_bytes(HEIC.read_bytes())
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "pillow_heif.py").write_text("raise ImportError('pillow-heif is not installed (hidden by the test)')\n")
    home = _no_ocr_home(tmp_path / "home")
    out = cli("index", str(root), "--home", str(home), "--json",
              env={"PYTHONPATH": f"{hide}{os.pathsep}{Path(__file__).resolve().parents[2] / 'src'}"})
    assert out.returncode == 0, out.stderr
    sg = open_sg(home)
    assert top_row(sg, root / HEIC.name)["error_kind"] == "missing-extra"
    sg.close()
    out = cli("index", "--retry-failed", "--home", str(home), "--json")
    assert out.returncode == 0, out.stderr
    sg = open_sg(home)
    r = top_row(sg, root / HEIC.name)
    assert r["status"] == "ok" and r["type"] == "image", r
    sg.close()


def test_a_missing_extra_is_retried_without_being_asked(tmp_path):
    """Installing the extra is enough: the next plain ``spyglass index`` reads what failed for want of it."""
    if not HEIC.exists():
        pytest.skip(f"shared data not present: {HEIC}")
    pytest.importorskip("pillow_heif", reason="needs the media extra (pillow-heif)")
    root = tmp_path / "photos"
    root.mkdir()
    shutil.copy(HEIC, root / HEIC.name)
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "pillow_heif.py").write_text("raise ImportError('hidden')\n")
    home = _no_ocr_home(tmp_path / "home")
    src = str(Path(__file__).resolve().parents[2] / "src")
    assert cli("index", str(root), "--home", str(home), env={"PYTHONPATH": f"{hide}{os.pathsep}{src}"}).returncode == 0
    assert cli("index", "--home", str(home)).returncode == 0
    sg = open_sg(home)
    assert top_row(sg, root / HEIC.name)["status"] == "ok"
    sg.close()
