"""The one place that maps a file to its type and extractor. Add a format here (and a test with a real file).

Types are short, stable names used in filters (``--type pdf``) and facets.
"""

from __future__ import annotations

import importlib
import mimetypes
from typing import Callable

from spyglass.core.errors import ExtractionError
from spyglass.core.types import Extracted
from spyglass.extraction.base import Blob, Context

Extractor = Callable[[Blob, Context], Extracted]

# extension -> (type, "module:function"); None as extractor = indexed by name and metadata only.
_TEXT = "spyglass.extraction.text:extract_text"
_MD = "spyglass.extraction.text:extract_markdown"
_CODE_EXTS = (
    ".py .js .mjs .ts .tsx .jsx .java .c .h .cc .cpp .hpp .cs .go .rs .rb .php .swift .kt .kts .scala .sh .bash "
    ".zsh .ps1 .sql .r .m .lua .pl .hs .ex .exs .erl .clj .dart .vue .svelte .css .scss .less .ini .cfg .conf .toml "
    ".properties .gradle .cmake .makefile .dockerfile .tex .bib"
).split()

REGISTRY: dict[str, tuple[str, str | None]] = {
    ".txt": ("text", _TEXT),
    ".text": ("text", _TEXT),
    ".log": ("text", _TEXT),
    ".md": ("markdown", _MD),
    ".markdown": ("markdown", _MD),
    ".rst": ("markdown", _MD),
    ".org": ("markdown", _MD),
    ".html": ("html", "spyglass.extraction.html:extract_html"),
    ".htm": ("html", "spyglass.extraction.html:extract_html"),
    ".xhtml": ("html", "spyglass.extraction.html:extract_html"),
    ".xml": ("xml", "spyglass.extraction.html:extract_xml"),
    ".pdf": ("pdf", "spyglass.extraction.pdf:extract_pdf"),
    ".docx": ("docx", "spyglass.extraction.office:extract_docx"),
    ".docm": ("docx", "spyglass.extraction.office:extract_docx"),
    ".pptx": ("pptx", "spyglass.extraction.office:extract_pptx"),
    ".xlsx": ("xlsx", "spyglass.extraction.office:extract_xlsx"),
    ".xlsm": ("xlsx", "spyglass.extraction.office:extract_xlsx"),
    ".odt": ("odt", "spyglass.extraction.opendocument:extract_odt"),
    ".odp": ("odp", "spyglass.extraction.opendocument:extract_odp"),
    ".ods": ("ods", "spyglass.extraction.opendocument:extract_ods"),
    ".epub": ("epub", "spyglass.extraction.epub:extract_epub"),
    ".rtf": ("rtf", "spyglass.extraction.rtf:extract_rtf"),
    ".csv": ("csv", "spyglass.extraction.structured:extract_csv"),
    ".tsv": ("csv", "spyglass.extraction.structured:extract_csv"),
    ".json": ("json", "spyglass.extraction.structured:extract_json"),
    ".ndjson": ("json", "spyglass.extraction.structured:extract_ndjson"),
    ".jsonl": ("json", "spyglass.extraction.structured:extract_ndjson"),
    ".yaml": ("yaml", "spyglass.extraction.structured:extract_yaml"),
    ".yml": ("yaml", "spyglass.extraction.structured:extract_yaml"),
    ".eml": ("email", "spyglass.extraction.mail:extract_eml"),
    ".mbox": ("mailbox", "spyglass.extraction.mail:extract_mbox"),
    ".msg": ("email", "spyglass.extraction.mail:extract_msg"),
    ".zip": ("zip", "spyglass.extraction.archive:extract_zip"),
    ".ics": ("calendar", "spyglass.extraction.calendar:extract_ics"),
    ".ifb": ("calendar", "spyglass.extraction.calendar:extract_ics"),
    ".vcf": ("addressbook", "spyglass.extraction.calendar:extract_vcf"),
    ".vcard": ("addressbook", "spyglass.extraction.calendar:extract_vcf"),
    # Known types without a text extractor yet: findable by name, path and metadata.
    ".doc": ("doc", None),
    ".xls": ("xls", None),
    ".ppt": ("ppt", None),
    **{e: ("image", "spyglass.extraction.image:extract_image")
       for e in ".png .jpg .jpeg .gif .tif .tiff .webp .bmp .heic .heif".split()},
    ".svg": ("image", None),
    **{e: ("audio", "spyglass.extraction.audio:extract_audio")
       for e in ".wav .mp3 .m4a .ogg .flac .opus .aac".split()},
    **{e: ("video", "spyglass.extraction.audio:extract_audio") for e in ".mp4 .mkv .webm .mov .avi".split()},
}
for _e in _CODE_EXTS:
    REGISTRY.setdefault(_e, ("code", _TEXT))

SLACK_EXPORT = ("chat", "spyglass.extraction.chat:extract_slack_export")

# Files without an extension that are conventionally text.
_TEXT_NAMES = {"readme", "license", "copying", "makefile", "dockerfile", "changelog", "authors", "notice"}


def file_type(name: str) -> tuple[str, str | None]:
    """(type, extractor path) for a file name. Unknown extensions are ``other`` (metadata only)."""
    lower = name.lower()
    dot = lower.rfind(".")
    ext = lower[dot:] if dot > 0 else ""
    if ext in REGISTRY:
        return REGISTRY[ext]
    if not ext and lower.rsplit("/", 1)[-1] in _TEXT_NAMES:
        return ("text", _TEXT)
    return ("other", None)


def mime_type(name: str) -> str:
    mime, _ = mimetypes.guess_type(name, strict=False)
    return mime or "application/octet-stream"


def load(path: str) -> Extractor:
    module, func = path.split(":")
    return getattr(importlib.import_module(module), func)


def extract_blob(blob: Blob, ctx: Context, kind: tuple[str, str | None] | None = None) -> Extracted:
    """Extract a document with the extractor its name selects. Raises :class:`ExtractionError`."""
    doc_type, extractor = kind or file_type(blob.name)
    if extractor is None:
        return Extracted(meta={"metadata_only": True})
    if blob.data is not None and not blob.data:
        raise ExtractionError("empty", "empty file (0 bytes)")
    try:
        return load(extractor)(blob, ctx)
    except ExtractionError:
        raise
    except MemoryError as exc:
        raise ExtractionError("memory", "ran out of memory while extracting (limits.memory_mb)") from exc
    except RecursionError as exc:
        raise ExtractionError("corrupt", "document nests too deeply to read") from exc
    except Exception as exc:  # a format library failing on bad input must not stop the run
        raise ExtractionError("corrupt", f"could not read {doc_type}: {type(exc).__name__}: {exc}") from exc
