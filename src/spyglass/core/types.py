"""Plain data types passed between layers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Segment:
    """A unit of extracted text with its location in the document (page, slide, sheet, section)."""

    text: str
    page: int | None = None  # 1-based page, slide or sheet number where the format has one
    label: str | None = None  # e.g. a sheet name, a chapter title, "notes"


@dataclass(slots=True)
class Extracted:
    """What an extractor returns for one document."""

    segments: list[Segment] = field(default_factory=list)
    title: str | None = None
    author: str | None = None
    created: float | None = None  # unix seconds
    meta: dict[str, Any] = field(default_factory=dict)
    children: list[ChildDoc] = field(default_factory=list)
    # A child can declare its own type (an e-mail in an mbox, an attachment); files use the extension.
    type: str | None = None
    # Principals the content itself declares (mail recipients, channel members); None = the file's own.
    acl: list[str] | None = None

    @property
    def text(self) -> str:
        return "\n\n".join(s.text for s in self.segments if s.text)


@dataclass(slots=True)
class ChildDoc:
    """A document inside another one: a message in a mailbox, an attachment, a channel-day of a chat export,
    a member of a zip archive. ``locator`` is stable within the parent."""

    locator: str
    name: str
    type: str
    extracted: Extracted | None = None
    error: tuple[str, str] | None = None  # (kind, message) when extraction failed
    acl: list[str] | None = None  # principals; None = inherit the parent's
    modified: float | None = None
    size: int = 0
    mime: str | None = None
    content_hash: str | None = None


@dataclass(slots=True)
class Chunk:
    """A passage of a document, the unit of lexical (and later vector) indexing."""

    ord: int
    text: str
    page: int | None
    start: int  # character offset in the document's text
    end: int
    label: str | None = None


@dataclass(slots=True)
class Hit:
    """One search result — a document with its best passage — and the one hit type of the whole search pipeline:
    retrievers make it (id, score, passage, their rank), fusion and rerankers re-score it, the app fills the document's
    fields from the catalog, and the CLI, the API and evaluation read it."""

    id: str
    score: float
    chunk: int = 0  # the best passage's number (``ord``) in the document
    page: int | None = None
    ranks: dict[str, int] = field(default_factory=dict)  # 1-based rank in each run it came from (keyword, semantic…)
    signals: dict[str, float] = field(default_factory=dict)  # each run's score, and each stage's input score
    snippet: str = ""
    snippet_html: str = ""
    highlights: list[tuple[int, int]] = field(default_factory=list)
    # the document, filled from the catalog once the ranking is final
    path: str = ""
    title: str = ""
    type: str = ""
    modified: float | None = None
    uri: str = ""
    source: str | None = None
    parent_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    label: str | None = None  # where in the document the best passage is: "@ 12:31" in a recording, a sheet name


@dataclass(slots=True)
class Ranking:
    """What each stage of search hands to the next: hits best first, how many documents matched in all, the words
    matched approximately, and the time each stage took (ms)."""

    hits: list[Hit] = field(default_factory=list)
    total: int = 0
    fuzzy: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    related: list[Hit] = field(default_factory=list)  # close by meaning, below the floor: not results (see pipeline)

    def run(self) -> dict[str, float]:
        """The ranking as a run ``{doc_id: score}`` (the input of :mod:`spyglass.retrieval.fusion`)."""
        return {h.id: h.score for h in self.hits}


@dataclass(slots=True)
class SearchResult:
    query: str
    total: int
    hits: list[Hit]
    took_ms: float = 0.0
    corrected: dict[str, str] = field(default_factory=dict)  # typo-tolerant rewrites: term -> used term
    mode: str = "keyword"
    search_id: int | None = None  # the activity log's id of this search, when it was logged
    related: list[Hit] = field(default_factory=list)  # nothing matched: the closest documents by meaning, set apart
