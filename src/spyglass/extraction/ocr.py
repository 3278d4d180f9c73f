"""OCR with Tesseract (Debian's ``tesseract-ocr`` through ``pytesseract``): text from images and scanned pages.

Rotation: Tesseract's orientation-and-script detection (OSD) reads the page's rotation first, and the image is turned
upright before recognition; when OSD cannot decide (too little text), recognition runs as is. ``ocr_available()``
says whether the runtime is installed, so indexing goes on without it and ``status`` can say what to install.
"""

from __future__ import annotations

import functools
import re
import shutil
from dataclasses import dataclass
from typing import Any

from spyglass.core.errors import ExtractionError
from spyglass.core.install import install_command

INSTALL_HINT = f"OCR needs Debian's tesseract-ocr (apt-get install tesseract-ocr) and {install_command('media')}"


@functools.lru_cache(maxsize=8)
def ocr_available(program: str = "") -> bool:
    """Whether OCR can run: pytesseract importable and the Tesseract program found (``program``: ``[media]
    tesseract``, "" = ``tesseract`` on the PATH)."""
    try:
        import pytesseract
    except ImportError:
        return False
    found = shutil.which(program or "tesseract")
    if found:
        pytesseract.pytesseract.tesseract_cmd = found
    return found is not None


@dataclass
class OcrResult:
    text: str
    confidence: float  # mean word confidence, 0-100 (-1: no words)
    rotated: int  # degrees the image was turned to read it


def _osd_rotation(image: Any, timeout: float) -> int:
    import pytesseract

    try:
        osd = pytesseract.image_to_osd(image, timeout=timeout, config="--psm 0")
    except (pytesseract.TesseractError, RuntimeError):  # too little text to tell, or a timeout: read as is
        return 0
    m = re.search(r"Rotate:\s*(\d+)", osd)
    return int(m.group(1)) % 360 if m else 0


def ocr_image(image: Any, languages: str = "eng", timeout: float = 30.0) -> OcrResult:
    """Recognise the text of a PIL image (any mode; it is converted to greyscale)."""
    import pytesseract

    img = image.convert("L")
    if max(img.size) < 600:  # small renders read better enlarged (Tesseract wants ~20 px letters)
        f = 600 / max(img.size)
        img = img.resize((int(img.width * f), int(img.height * f)))
    rotate = _osd_rotation(img, timeout)
    if rotate:
        img = img.rotate(-rotate, expand=True)  # OSD's "Rotate: r" means turn r degrees clockwise
    try:
        data = pytesseract.image_to_data(img, lang=languages, timeout=timeout, output_type=pytesseract.Output.DICT)
    except RuntimeError as exc:  # pytesseract's timeout
        raise ExtractionError("timeout", f"OCR took longer than {timeout:g} s (media.ocr_page_timeout_s)") from exc
    except pytesseract.TesseractError as exc:
        raise ExtractionError("corrupt", f"OCR failed: {exc}") from exc
    lines: dict[tuple[int, int, int], list[str]] = {}
    confs = []
    for i, word in enumerate(data["text"]):
        if word.strip():
            key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
            lines.setdefault(key, []).append(word)
            c = float(data["conf"][i])
            if c >= 0:
                confs.append(c)
    text = "\n".join(" ".join(ws) for _, ws in sorted(lines.items()))
    return OcrResult(text, sum(confs) / len(confs) if confs else -1.0, rotate)
