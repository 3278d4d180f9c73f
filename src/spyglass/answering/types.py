"""What an answer is made of."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Source:
    """A retrieved passage the asker may read, numbered as it is cited: [n]."""

    n: int
    doc_id: str
    title: str
    path: str
    text: str
    page: int | None = None
    label: str | None = None  # slide, sheet, section, time offset
    score: float = 0.0
    ord: int = 0  # the passage's number within its document

    def as_dict(self) -> dict[str, Any]:
        return {"n": self.n, "id": self.doc_id, "passage": self.ord, "title": self.title, "path": self.path,
                "page": self.page, "label": self.label, "snippet": self.text[:300]}


@dataclass(slots=True)
class Claim:
    """One sentence of the answer with the sources it cites and whether they support it."""

    text: str
    cites: list[int] = field(default_factory=list)
    supported: bool = True


@dataclass(slots=True)
class Answer:
    question: str
    text: str
    sources: list[Source]
    claims: list[Claim] = field(default_factory=list)
    backend: str = "extractive"
    found: bool = True  # False: the files did not hold an answer, and the answer says so
    dropped: list[str] = field(default_factory=list)  # claims removed because no passage supported them
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def cited(self) -> list[int]:
        return sorted({n for c in self.claims for n in c.cites})

    def as_dict(self) -> dict[str, Any]:
        cited = set(self.cited)
        return {"question": self.question, "answer": self.text, "found": self.found, "backend": self.backend,
                "citations": [s.as_dict() for s in self.sources if s.n in cited],
                "sources": [s.as_dict() for s in self.sources],
                "claims": [{"text": c.text, "cites": c.cites, "supported": c.supported} for c in self.claims],
                "dropped": self.dropped, "timings_ms": {k: round(v, 1) for k, v in self.timings.items()}}


NOT_FOUND = "I could not find this in your files."
