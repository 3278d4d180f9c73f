"""Thumbnails of images and PDF first pages for the web app.

Rendered once (Pillow for images, pypdfium2 for PDFs) into ``<data dir>/thumbnails/`` as small WebP files named
``<document id>-<content hash>-<size>.webp``: a changed file (new hash) gets a new thumbnail, an unchanged one is
never rendered twice, and a render that failed leaves a ``.failed`` marker so it is not retried on every request.
The caller's permission is checked before this module is asked (like a download); the original is read only
through :func:`open_original`, which refuses a file that is no longer the one that was indexed, on every request.
"""

from __future__ import annotations

import os
import stat
import tempfile
import threading
from pathlib import Path
from typing import Any, BinaryIO

from spyglass.core.errors import NotFoundError

SIZES = (160, 320)  # card and preview widths (px); only these are made, so the cache stays bounded
KINDS = ("image", "pdf")
MAX_PIXELS = 60_000_000  # a larger image is refused before it is decoded (decompression bombs)
MAX_PDF_POINTS = 20_000  # a first page larger than this (in PDF points, 1/72 in) is refused
_RENDERING = threading.BoundedSemaphore(2)  # renders at once: bounds memory and CPU under many cards


CHANGED = "the file changed since it was indexed: run `spyglass index` to index it again"


class ThumbnailError(Exception):
    """No thumbnail can be made; the message says why."""


def open_original(path: str, indexed: dict[str, Any], principals: list[str]) -> BinaryIO:
    """The one place the web app opens an original file: the file that was indexed, or an error.

    Uses the server's verified open (``spyglass.server.files.open_indexed``: a walk with ``O_NOFOLLOW`` on every
    component, the catalog's size/mtime (and device/inode) compared, the caller's live read access) when that module
    is present; until then, :func:`_open_unchanged`. ``indexed`` is the catalog row (``size``, ``mtime_ns``)."""
    try:
        from spyglass.server.files import open_indexed  # type: ignore[import-not-found]
    except ImportError:
        return os.fdopen(_open_unchanged(path, indexed), "rb")
    try:
        fd, _st = open_indexed(path, indexed, principals)
    except (NotFoundError, OSError) as exc:
        raise ThumbnailError(str(exc) or CHANGED) from None
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def _open_unchanged(path: str, indexed: dict[str, Any]) -> int:
    """A descriptor of ``path`` only if it is still the indexed file: no symlink in the last component, a regular
    file (a FIFO does not block: non-blocking open), the size and modification time recorded at indexing."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError:  # ELOOP: a symlink now; ENOENT: gone
        raise ThumbnailError(CHANGED) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size != indexed["size"] or st.st_mtime_ns != indexed["mtime_ns"]:
            raise ThumbnailError(CHANGED)
        os.set_blocking(fd, True)
        return fd
    except BaseException:
        os.close(fd)
        raise


def cache_file(cache_dir: Path, doc_id: str, content_hash: str, size: int) -> Path:
    return cache_dir / f"{doc_id}-{content_hash[:32]}-{size}.webp"


def thumbnail(cache_dir: Path, doc: dict[str, Any], size: int, principals: list[str]) -> Path:
    """The WebP thumbnail of ``doc`` (keys: id, type, file, content_hash, size, mtime_ns), rendered on first use.
    The original is opened (and so verified) on every call, also when the thumbnail is kept already: a file that is
    no longer the indexed one, or that the caller may no longer read, shows no thumbnail."""
    if size not in SIZES:
        raise ThumbnailError(f"sizes: {', '.join(map(str, SIZES))}")
    if doc.get("type") not in KINDS or not doc.get("file") or not doc.get("content_hash"):
        raise ThumbnailError("thumbnails are made for image and PDF files only")
    out = cache_file(cache_dir, doc["id"], doc["content_hash"], size)
    failed = out.with_suffix(".failed")
    with open_original(doc["file"], doc, principals) as f:
        if out.exists():
            return out
        if failed.exists():
            raise ThumbnailError(failed.read_text(errors="replace")[:300] or "rendering failed before")
        with _RENDERING:
            if out.exists():  # another request made it meanwhile
                return out
            _private_dir(cache_dir)
            try:
                img = render_pdf(f, size) if doc["type"] == "pdf" else render_image(f, size)
            except ImportError as exc:  # an extra is missing: not remembered (installing it fixes this)
                raise ThumbnailError(f"thumbnails need Pillow ({exc.name}): pip install 'spyglass[server]'") from None
            except Exception as exc:  # a corrupt or unsupported file: remembered, so it is not retried every time
                reason = f"the file could not be rendered: {type(exc).__name__}: {exc}"[:300]
                _write_private(failed, reason.encode())
                raise ThumbnailError(reason) from None
            _drop_older(cache_dir, doc["id"], size, keep=out)
            _write_private(out, _webp(img))
    return out


def render_image(f: BinaryIO, size: int) -> Any:
    """An RGB image at most ``size`` px on its longer side, upright (EXIF orientation), alpha over white."""
    from PIL import Image, ImageOps

    _register_heif()
    im = Image.open(f)
    w, h = im.size
    if w * h > MAX_PIXELS:
        raise ValueError(f"{w}x{h} pixels is over the {MAX_PIXELS:,} pixel limit for thumbnails")
    im.draft("RGB", (size, size))  # JPEG: decode at a reduced scale
    im.seek(0)
    im = ImageOps.exif_transpose(im)
    im.thumbnail((size, size))
    return _flatten(im)


def render_pdf(f: BinaryIO, size: int) -> Any:
    """The first page, rendered so that its longer side is ``size`` px."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(f)
    try:
        page = pdf[0]
        w, h = page.get_size()
        if max(w, h) > MAX_PDF_POINTS or min(w, h) <= 0:
            raise ValueError(f"a first page of {w:.0f}x{h:.0f} points is not rendered")
        bitmap = page.render(scale=size / max(w, h))
        im = bitmap.to_pil()
        page.close()
        return _flatten(im)
    finally:
        pdf.close()


def _flatten(im: Any) -> Any:
    from PIL import Image

    if im.mode in ("RGBA", "LA", "P", "PA"):
        im = im.convert("RGBA")
        bg = Image.new("RGB", im.size, "white")
        bg.paste(im, mask=im.getchannel("A"))
        return bg
    return im.convert("RGB")


def _webp(img: Any) -> bytes:
    import io

    buf = io.BytesIO()
    img.save(buf, "WEBP", quality=72, method=4)
    return buf.getvalue()


def _register_heif() -> None:
    try:
        from pillow_heif import register_heif_opener
    except ImportError:  # HEIC photos then get no thumbnail (the media extra adds pillow-heif)
        return
    register_heif_opener()


def _private_dir(d: Path) -> None:
    d.mkdir(mode=0o700, parents=True, exist_ok=True)


def _write_private(dest: Path, data: bytes) -> None:
    """Atomically, readable by the server's user only (like every file in the data directory)."""
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".tmp-", suffix=dest.suffix)  # mode 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, dest)
    except BaseException:
        with _suppress():
            os.unlink(tmp)
        raise


def _drop_older(cache_dir: Path, doc_id: str, size: int, keep: Path) -> None:
    """Thumbnails of earlier versions of the document (another content hash) are removed."""
    for p in cache_dir.glob(f"{doc_id}-*-{size}.*"):
        if p != keep:
            with _suppress():
                p.unlink()


def _suppress():
    import contextlib

    return contextlib.suppress(OSError)
