"""Checks that run before a format library sees the bytes: archive bombs, encrypted containers, binary junk."""

from __future__ import annotations

import zipfile
from typing import BinaryIO

from spyglass.core.errors import ExtractionError
from spyglass.extraction.base import Context

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def check_zip(fh: BinaryIO, ctx: Context, compressed_size: int | None = None) -> zipfile.ZipFile:
    """Open a zip-based file (OOXML, OpenDocument, EPUB, .zip) after checking what it would expand to.

    Uses the sizes declared in the central directory; :func:`read_member` also caps the bytes actually read, so a
    zip that lies about its sizes cannot expand past the limit either.
    """
    try:
        zf = zipfile.ZipFile(fh)
    except zipfile.BadZipFile as exc:
        raise ExtractionError("corrupt", f"not a valid zip container: {exc}") from exc
    infos = zf.infolist()
    limits = ctx.limits
    if len(infos) > limits.max_archive_members:
        raise ExtractionError(
            "archive-bomb", f"archive has {len(infos)} members, over the limit of {limits.max_archive_members}"
        )
    total = sum(i.file_size for i in infos)
    packed = compressed_size if compressed_size is not None else sum(i.compress_size for i in infos)
    if total > limits.max_archive_mb * 1024 * 1024:
        raise ExtractionError(
            "archive-bomb",
            f"archive expands to {total / 1e6:.0f} MB, over the limit of {limits.max_archive_mb:.0f} MB "
            "(limits.max_archive_mb)",
        )
    if packed > 0 and total > 1024 * 1024 and total / packed > limits.max_archive_ratio:
        raise ExtractionError(
            "archive-bomb",
            f"archive expands {total / packed:.0f}x ({packed} bytes to {total / 1e6:.0f} MB), "
            f"over the ratio limit of {limits.max_archive_ratio:.0f} (limits.max_archive_ratio)",
        )
    return zf


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, ctx: Context) -> bytes:
    cap = int(ctx.limits.max_archive_mb * 1024 * 1024)
    with zf.open(info) as fh:
        data = fh.read(cap + 1)
    if len(data) > cap:
        raise ExtractionError("archive-bomb", f"member {info.filename!r} expands past {cap // 2**20} MB")
    return data


def check_ooxml(fh: BinaryIO, ctx: Context) -> zipfile.ZipFile:
    """Office Open XML files are zips; a password-protected one is an OLE compound file instead."""
    head = fh.read(8)
    fh.seek(0)
    if head == OLE_MAGIC:
        raise ExtractionError("encrypted", "password-protected (encrypted Office document)")
    if head[:2] != b"PK":
        raise ExtractionError("corrupt", "not an Office Open XML file (no zip signature)")
    return check_zip(fh, ctx)


def sniff_utf16(sample: bytes) -> str | None:
    """``utf-16-le``/``utf-16-be`` for BOM-less UTF-16 text (mostly Latin script: a NUL in every other byte)."""
    if len(sample) < 4 or b"\0" not in sample:
        return None
    half = len(sample) / 2
    even = sample[0::2].count(0)
    odd = sample[1::2].count(0)
    if odd > 0.4 * half and even < 0.05 * half:
        return "utf-16-le"
    if even > 0.4 * half and odd < 0.05 * half:
        return "utf-16-be"
    return None


def looks_binary(sample: bytes) -> bool:
    """True for data that is not text in any common encoding: NUL bytes (outside UTF-16 text) or mostly
    control characters."""
    if not sample:
        return False
    if sample.startswith((b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")) or sniff_utf16(sample):
        return False
    if b"\0" in sample:
        return True
    controls = len(sample) - len(sample.translate(None, _CONTROL))
    return controls > 0.1 * len(sample)


_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27))


def sniff_text(sample: bytes) -> str | None:
    """The encoding of ``sample`` when it is text (a BOM, UTF-16, UTF-8, or a single-byte encoding the charset
    detector is sure of), else None. For files whose name says nothing (an unknown extension, none at all)."""
    if not sample:
        return None
    for bom, enc in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if sample.startswith(bom):
            return enc
    utf16 = sniff_utf16(sample)
    if utf16:
        return utf16
    if looks_binary(sample):
        return None
    for cut in range(4):  # the sample may end inside a multi-byte character
        try:
            sample[: len(sample) - cut].decode("utf-8")
            return "utf-8"
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    if best is None or best.chaos > 0.1:
        return None
    return best.encoding
