"""What every extractor receives: the bytes of a document (from a path or memory) and the limits."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from spyglass.core.config import LimitSettings, MediaSettings


@dataclass
class Blob:
    """A document's content. ``path`` is set for files on disk; ``data`` for documents inside documents."""

    name: str
    path: Path | None = None
    data: bytes | None = None

    def read(self) -> bytes:
        if self.data is None:
            assert self.path is not None
            self.data = self.path.read_bytes()
        return self.data

    def open(self) -> BinaryIO:
        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.path is not None
        return self.path.open("rb")

    @property
    def suffix(self) -> str:
        return Path(self.name).suffix.lower()


@dataclass
class Context:
    limits: LimitSettings = field(default_factory=LimitSettings)
    media: MediaSettings = field(default_factory=MediaSettings)
    depth: int = 0  # nesting: 0 for a file, 1 for an attachment, ...
    max_depth: int = 3

    @property
    def max_text_chars(self) -> int:
        return int(self.limits.max_text_mb * 1024 * 1024)

    @property
    def text_budget(self) -> int:
        """How much text an extractor need produce: one character past the cap, so that the cap is applied, and
        recorded, in one place for every format (``extraction.worker``)."""
        return self.max_text_chars + 1

    def child(self) -> Context:
        return Context(limits=self.limits, media=self.media, depth=self.depth + 1, max_depth=self.max_depth)
