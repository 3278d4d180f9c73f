"""Images: EXIF metadata (date taken, camera, GPS position) and OCR text (:mod:`spyglass.extraction.ocr`).

File and folder names are indexed for every file already; with no OCR runtime installed an image is still indexed
with its metadata. GIF and multi-frame TIFF: the first frame.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from spyglass.core.errors import ExtractionError
from spyglass.core.types import Extracted, Segment
from spyglass.extraction.base import Blob, Context

EXIF_DATETIME_ORIGINAL = 0x9003
EXIF_IFD = 0x8769
GPS_IFD = 0x8825


def _ratio(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError, ZeroDivisionError):
        return 0.0


def _gps(gps: dict) -> tuple[float, float] | None:
    """Decimal degrees from EXIF GPS tags 1-4 (ref N/S, lat d/m/s, ref E/W, lon d/m/s)."""
    try:
        lat = sum(_ratio(x) / 60 ** i for i, x in enumerate(gps[2]))
        lon = sum(_ratio(x) / 60 ** i for i, x in enumerate(gps[4]))
    except (KeyError, TypeError, IndexError):
        return None
    if gps.get(1) in ("S", b"S"):
        lat = -lat
    if gps.get(3) in ("W", b"W"):
        lon = -lon
    return round(lat, 6), round(lon, 6)


def exif_meta(img: Any) -> tuple[dict[str, Any], float | None]:
    meta: dict[str, Any] = {"width": img.width, "height": img.height}
    taken = None
    try:
        exif = img.getexif()
    except Exception:  # broken EXIF blocks are common; the picture is still fine
        return meta, None
    make, model = exif.get(0x010F), exif.get(0x0110)
    if make or model:
        meta["camera"] = " ".join(str(x).strip() for x in (make, model) if x)
    raw = exif.get_ifd(EXIF_IFD).get(EXIF_DATETIME_ORIGINAL) or exif.get(0x0132)
    if raw:
        try:
            taken = datetime.strptime(str(raw).strip(), "%Y:%m:%d %H:%M:%S").timestamp()
            meta["taken"] = taken
        except ValueError:
            pass
    gps = _gps(dict(exif.get_ifd(GPS_IFD)))
    if gps and gps != (0.0, 0.0):
        meta["gps_lat"], meta["gps_lon"] = gps
    return meta, taken


def dhash_of(img: Any) -> int:
    """dHash (Krawetz 2013): shrink to 9×8 grey pixels; each of the 64 bits says whether a pixel is brighter than its
    right neighbour."""
    from PIL import Image

    g = img.convert("L").resize((9, 8), Image.Resampling.LANCZOS)
    px = g.tobytes()
    bits = 0
    for row in range(8):
        for col in range(8):
            bits = (bits << 1) | int(px[row * 9 + col] > px[row * 9 + col + 1])
    return bits


HEIF_EXTS = (".heic", ".heif")


def register_heif() -> bool:
    """Let PIL open HEIC/HEIF photos (iPhone's default) when ``pillow-heif`` (the ``media`` extra) is installed."""
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        return False
    register_heif_opener()
    return True


def open_image(src: Any) -> Any:
    """A PIL image from a path or a file object, HEIC included when the extra is installed."""
    from PIL import Image

    register_heif()
    return Image.open(src)


def extract_image(blob: Blob, ctx: Context) -> Extracted:
    from PIL import Image, UnidentifiedImageError

    from spyglass.extraction.ocr import INSTALL_HINT, ocr_available, ocr_image

    if blob.name.lower().endswith(HEIF_EXTS) and not register_heif():
        from spyglass.core.install import install_command

        raise ExtractionError("missing-extra", f"HEIC/HEIF photos need pillow-heif: {install_command('media')}, "
                                               "then `spyglass index --retry-failed`")
    try:
        img = open_image(io.BytesIO(blob.read()))
        img.seek(0)
        img.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ExtractionError("corrupt", f"unreadable image: {exc}") from exc
    meta, taken = exif_meta(img)
    meta["dhash"] = f"{dhash_of(img):016x}"  # for look-alikes (spyglass similar, duplicates)
    out = Extracted(created=taken, meta=meta)
    if ctx.media.caption_endpoint:
        _caption(img, ctx, out)
    if not ctx.media.ocr:
        return out
    if not ocr_available(ctx.media.tesseract):
        out.meta["ocr"] = "missing"
        out.meta["ocr_hint"] = INSTALL_HINT
        return out
    res = ocr_image(img, ctx.media.ocr_languages, ctx.media.ocr_page_timeout_s)
    out.meta["ocr"] = "done"
    out.meta["ocr_confidence"] = round(res.confidence, 1)
    if res.rotated:
        out.meta["ocr_rotated"] = res.rotated
    if res.text.strip():
        out.segments.append(Segment(res.text[: ctx.max_text_chars], label="OCR"))
    return out


def _caption(img: Any, ctx: Context, out: Extracted) -> None:
    from spyglass.extraction.caption import CaptionError, caption_image

    try:
        text = caption_image(img, ctx.media)
    except CaptionError as exc:  # indexed without it; `index --retry-failed` asks again
        out.meta["caption"] = "missing"
        out.meta["caption_error"] = str(exc)
        return
    out.meta["caption"] = "done"
    if text:
        out.segments.append(Segment(text[: ctx.max_text_chars], label="Caption"))
