"""The search query language.

```
quarterly "budget review"        words (any may match, ranked by BM25) and a quoted phrase (must match)
+budget  -draft  NOT draft       required word, excluded word
budget OR forecast               either (the default between words); AND makes both sides required
budg*                            prefix
title:budget  body:x  path:x     restrict a word or phrase to one field
type:pdf  ext:docx  in:~/Work    filters: type, extension, folder
after:2025-01-01 before:2025-07  modified date range (YYYY, YYYY-MM or YYYY-MM-DD)
author:smith  source:Documents   author, source name
attendee:bob@example.com         an event's attendee (address or part of it)
larger:10mb  smaller:500kb       file size
```
Typos are tolerated: a word of 5 letters or more that occurs nowhere in the index is matched within an edit distance
of 1 (2 for words of 9 letters or more).
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta, timezone

from spyglass.core.errors import QuerySyntaxError
from spyglass.core.query import MUST, MUST_NOT, SHOULD, Clause, Filters, ParsedQuery

__all__ = ["MUST", "MUST_NOT", "SHOULD", "Clause", "Filters", "ParsedQuery", "parse", "parse_plain", "apply_filter"]

TEXT_FIELDS = {"title", "body", "path"}
FILTER_FIELDS = {"type", "ext", "in", "folder", "after", "before", "author", "source", "larger", "smaller", "topic",
                 "tag", "camera", "near", "taken", "attendee"}


_TOKEN = re.compile(r'(?P<sign>[+-])?(?:(?P<field>[A-Za-z]+):)?(?:"(?P<phrase>[^"]*)"?|(?P<word>[^\s"]+))')


def parse_date(value: str, end: bool = False) -> float:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` (UTC). With ``end``, the first instant after that period."""
    value = value.strip()
    try:
        if re.fullmatch(r"\d{4}", value):
            d = datetime(int(value), 1, 1, tzinfo=timezone.utc)
            return (d.replace(year=d.year + 1) if end else d).timestamp()
        if re.fullmatch(r"\d{4}-\d{1,2}", value):
            y, m = map(int, value.split("-"))
            d = datetime(y, m, 1, tzinfo=timezone.utc)
            if end:
                d = datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=timezone.utc)
            return d.timestamp()
        d = datetime.fromisoformat(value)
        if d.tzinfo is None:
            d = d.replace(tzinfo=timezone.utc)
        if end and re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", value):
            d += timedelta(days=1)
        return d.timestamp()
    except (ValueError, OverflowError, OSError):
        raise QuerySyntaxError(f"not a date: {value!r} (use YYYY, YYYY-MM or YYYY-MM-DD)") from None


_SIZE = re.compile(r"(?i)^(\d{1,30}(?:\.\d{1,30})?)\s*(b|k|kb|m|mb|g|gb|t|tb)?$")
MAX_SIZE = 2**53  # bytes (8 PiB): larger sizes are refused rather than overflow the indexes' 64-bit integers
MAX_TOPIC = 2**31 - 1


def parse_size(value: str) -> int:
    m = _SIZE.match(value.strip())
    if not m:
        raise QuerySyntaxError(f"not a size: {value!r} (examples: 500kb, 10mb, 1gb)")
    n = float(m.group(1))
    unit = (m.group(2) or "b").lower()[0]
    size = n * {"b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}[unit]
    if not size <= MAX_SIZE:
        raise QuerySyntaxError(f"size {value!r} is too large (at most 8192tb)")
    return int(size)


def parse_topic(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or int(value) > MAX_TOPIC:
        raise QuerySyntaxError(f"topic: needs a topic number (see `spyglass topics`), not {value!r}")
    return int(value)


def normalize_folder(value: str) -> str:
    return os.path.abspath(os.path.expanduser(value)).rstrip("/") or "/"


def apply_filter(filters: Filters, name: str, value: str) -> None:
    if not value:
        raise QuerySyntaxError(f"{name}: needs a value")
    if name == "type":
        filters.types.extend(v.lower() for v in value.split(","))
    elif name == "ext":
        filters.exts.extend(v.lower().lstrip(".") for v in value.split(","))
    elif name in ("in", "folder"):
        filters.folders.append(normalize_folder(value))
    elif name == "after":
        filters.after = parse_date(value)
    elif name == "before":
        filters.before = parse_date(value)
    elif name == "author":
        filters.authors.append(value)
    elif name == "source":
        if value.isdigit() and int(value) > MAX_TOPIC:  # a source number (ids are small), not a name
            raise QuerySyntaxError(f"source: no source numbered {value[:20]!r} (see `spyglass sources`)")
        filters.sources.append(value)
    elif name == "larger":
        filters.min_size = parse_size(value)
    elif name == "smaller":
        filters.max_size = parse_size(value)
    elif name == "topic":
        filters.topics.append(parse_topic(value))
    elif name == "tag":
        filters.tags.append(value.lower())
    elif name == "camera":
        filters.cameras.append(value.lower())
    elif name == "attendee":
        filters.attendees.append(value.lower())
    elif name == "near":
        filters.near = parse_near(value)
    elif name == "taken":
        # EXIF times are wall-clock times without a zone, read as local time: so are the bounds of the period
        def local(t: float) -> float:
            try:
                return datetime.fromtimestamp(t, timezone.utc).replace(tzinfo=None).timestamp()
            except (ValueError, OverflowError, OSError):
                raise QuerySyntaxError(f"taken: {value!r} is out of range") from None

        filters.taken = (local(parse_date(value)), local(parse_date(value, end=True)))


def parse_near(value: str) -> tuple[float, float, float]:
    """``LAT,LON`` or ``LAT,LON,KM`` (decimal degrees; KM may end in ``km``; default 10 km)."""
    parts = [p.strip().lower().removesuffix("km") for p in value.split(",")]
    try:
        lat, lon = float(parts[0]), float(parts[1])
        km = float(parts[2]) if len(parts) > 2 else 10.0
    except (ValueError, IndexError):
        raise QuerySyntaxError(f"near: needs LAT,LON or LAT,LON,KM in decimal degrees, not {value!r}") from None
    if len(parts) > 3 or not (-90 <= lat <= 90 and -180 <= lon <= 180 and 0 < km <= 20_000):
        raise QuerySyntaxError(f"near: {value!r} is out of range (latitude -90..90, longitude -180..180, km > 0)")
    return lat, lon, km


def parse_plain(text: str) -> ParsedQuery:
    """Text as a bag of words: no operators, fields or filters (for questions and evaluation queries)."""
    return ParsedQuery([Clause(SHOULD, "bag", text)] if text.strip() else [], Filters())


def parse(query: str) -> ParsedQuery:
    clauses: list[Clause] = []
    filters = Filters()
    pending_not = False
    pending_and = False
    for m in _TOKEN.finditer(query):
        sign, fld, phrase, word = m.group("sign"), m.group("field"), m.group("phrase"), m.group("word")
        fld = fld.lower() if fld else None
        if word in ("AND", "OR", "NOT") and not sign and not fld:
            if word == "NOT":
                pending_not = True
            elif word == "AND":
                pending_and = True
                if clauses and clauses[-1].occur == SHOULD:
                    clauses[-1].occur = MUST
            continue
        if fld in FILTER_FIELDS:
            apply_filter(filters, fld, phrase if phrase is not None else (word or ""))
            continue
        if fld and fld not in TEXT_FIELDS:
            # not a field we know (a URL, a time like 10:30): search the text as typed
            word = f"{fld}:{word}" if word is not None else None
            phrase = f"{fld} {phrase}" if phrase is not None else None
            fld = None
        occur = SHOULD
        if phrase is not None:
            occur = MUST
        if sign == "+" or pending_and:
            occur = MUST
        if sign == "-" or pending_not:
            occur = MUST_NOT
        pending_not = pending_and = False
        if phrase is not None:
            if phrase.strip():
                clauses.append(Clause(occur, "phrase", phrase.strip(), fld))
            continue
        assert word is not None
        if word.endswith("*") and len(word.rstrip("*")) >= 1:
            clauses.append(Clause(occur, "prefix", word.rstrip("*"), fld))
        else:
            clauses.append(Clause(occur, "term", word, fld))
    return ParsedQuery(clauses, filters)
