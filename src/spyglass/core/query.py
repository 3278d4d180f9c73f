"""The parsed form of a search query — clauses and filters — passed from the query parser
(:mod:`spyglass.retrieval.query`) to every retriever. Data only: parsing lives in ``retrieval``."""

from __future__ import annotations

from dataclasses import dataclass, field

MUST, SHOULD, MUST_NOT = "must", "should", "must_not"


@dataclass
class Clause:
    occur: str
    kind: str  # term | phrase | prefix
    text: str
    field: str | None = None


@dataclass
class Filters:
    types: list[str] = field(default_factory=list)
    exts: list[str] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)
    after: float | None = None  # unix seconds, inclusive
    before: float | None = None  # unix seconds, exclusive
    authors: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    min_size: int | None = None
    max_size: int | None = None
    topics: list[int] = field(default_factory=list)  # topic:3 (spyglass topics)
    tags: list[str] = field(default_factory=list)  # tag:invoice
    cameras: list[str] = field(default_factory=list)  # camera:"canon eos" (EXIF make and model contain the words)
    near: tuple[float, float, float] | None = None  # near:LAT,LON[,KM] (EXIF GPS within KM, default 10)
    taken: tuple[float, float] | None = None  # taken:YYYY[-MM[-DD]] (EXIF date taken in that period)
    attendees: list[str] = field(default_factory=list)  # attendee:bob@example.com (an event's attendee addresses)
    # Set by the app from topics and tags: the documents they select (None: no such restriction).
    item_ids: list[str] | None = None

    def merge(self, other: Filters) -> Filters:
        return Filters(
            types=self.types + other.types,
            exts=self.exts + other.exts,
            folders=self.folders + other.folders,
            after=max(filter(None, [self.after, other.after]), default=None),
            before=min(filter(None, [self.before, other.before]), default=None),
            authors=self.authors + other.authors,
            sources=self.sources + other.sources,
            min_size=max(filter(lambda x: x is not None, [self.min_size, other.min_size]), default=None),
            max_size=min(filter(lambda x: x is not None, [self.max_size, other.max_size]), default=None),
            topics=self.topics + other.topics,
            tags=self.tags + other.tags,
            cameras=self.cameras + other.cameras,
            near=other.near or self.near,
            taken=other.taken or self.taken,
            attendees=self.attendees + other.attendees,
            item_ids=_intersect(self.item_ids, other.item_ids),
        )

    def empty(self) -> bool:
        return self == Filters()


def _intersect(a: list[str] | None, b: list[str] | None) -> list[str] | None:
    if a is None or b is None:
        return a if b is None else b
    return sorted(set(a) & set(b))


@dataclass
class ParsedQuery:
    clauses: list[Clause]
    filters: Filters

    @property
    def positive(self) -> list[Clause]:
        return [c for c in self.clauses if c.occur != MUST_NOT]

    @property
    def constraints(self) -> list[Clause]:
        """What every result must satisfy in every mode: required words and phrases, excluded words."""
        return [c for c in self.clauses if c.occur != SHOULD]


@dataclass
class SearchRequest:
    """One search as every stage sees it: the words as typed, their parsed form, who is asking (principals — a list,
    or :data:`spyglass.core.acl.EVERYTHING` for the index owner; never None), the source names filters may use, the
    page wanted, and the user whose activity personal features read."""

    text: str
    parsed: ParsedQuery
    principals: object  # spyglass.core.acl.Principals
    source_ids: dict[str, str] = field(default_factory=dict)
    limit: int = 10
    offset: int = 0
    depth: int = 100  # candidates each retriever contributes to fusion
    user: str | None = None
    mode: str = "hybrid"  # keyword | semantic | hybrid
    rerank: str | None = None  # a reranker's name, or None
    fusion: str | None = None  # a fusion method for this request (None: the configured one)
    snippets: bool = True

    @property
    def want(self) -> int:
        return self.offset + self.limit
