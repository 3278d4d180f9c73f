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
    span: tuple[int, int] | None = None  # the answer inside the sentence (character offsets), from the answer model


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
    answerability: float | None = None  # the answer model's p*: how likely the sources answer the question

    @property
    def cited(self) -> list[int]:
        return sorted({n for c in self.claims for n in c.cites})

    @property
    def span(self) -> str:
        """The short answer inside the first claim's sentence ("" without the answer model)."""
        c = self.claims[0] if self.claims else None
        return c.text[c.span[0] : c.span[1]] if c is not None and c.span else ""

    def as_dict(self) -> dict[str, Any]:
        cited = set(self.cited)
        return {"question": self.question, "answer": self.text, "found": self.found, "backend": self.backend,
                "citations": [s.as_dict() for s in self.sources if s.n in cited],
                "sources": [s.as_dict() for s in self.sources],
                "claims": [{"text": c.text, "cites": c.cites, "supported": c.supported,
                            "span": list(c.span) if c.span else None} for c in self.claims],
                "span": self.span,
                "answerability": round(self.answerability, 4) if self.answerability is not None else None,
                "dropped": self.dropped, "timings_ms": {k: round(v, 1) for k, v in self.timings.items()}}


NOT_FOUND = "I could not find this in your files."
