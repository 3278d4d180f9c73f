"""Filters and access control as tantivy query clauses, applied inside the index query (never after it)."""

from __future__ import annotations

from datetime import datetime, timezone

import tantivy

from spyglass.core import acl
from spyglass.core.query import Filters


FEW_TERMS = 64  # up to this many values a filter is a disjunction of term queries, beyond it one term-set query


def any_of(schema: tantivy.Schema, field: str, values: list) -> tantivy.Query:
    """Documents whose ``field`` holds any of ``values``. For a few values (a caller's principals, the types or
    sources asked for) a disjunction of term queries, whose postings are read lazily where the rest of the query
    needs them; for many, one term-set query, which builds an FST of the values and a bitset of every matching
    document on each search (≈ 1 ms per keyword search over SciFact's 5,822 passages, for two principals:
    BENCHMARKS.md, "the access clause")."""
    vals = sorted(set(values))
    if len(vals) > FEW_TERMS:
        return tantivy.Query.term_set_query(schema, field, vals)
    return tantivy.Query.boolean_query([(tantivy.Occur.Should, tantivy.Query.term_query(schema, field, v))
                                        for v in vals])


def _date(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)


def filter_queries(schema: tantivy.Schema, f: Filters, source_ids: dict[str, str]) -> list[tantivy.Query]:
    """One required, non-scoring clause per filter. ``source_ids`` maps source names to ids."""
    out: list[tantivy.Query] = []
    if f.types:
        out.append(any_of(schema, "type", f.types))
    if f.exts:
        out.append(any_of(schema, "ext", f.exts))
    for folder in f.folders:
        out.append(tantivy.Query.term_query(schema, "folder", folder))
    if f.after is not None or f.before is not None:
        out.append(
            tantivy.Query.range_query(
                schema, "modified", tantivy.FieldType.Date,
                _date(f.after) if f.after is not None else tantivy.MIN_DATETIME,
                _date(f.before) if f.before is not None else tantivy.MAX_DATETIME,
                include_lower=True, include_upper=False,
            )
        )
    if f.min_size is not None or f.max_size is not None:
        out.append(
            tantivy.Query.range_query(
                schema, "size", tantivy.FieldType.Unsigned,
                f.min_size if f.min_size is not None else 0,
                f.max_size if f.max_size is not None else 2**63,
            )
        )
    for author in f.authors:
        words = [w for w in "".join(c.lower() if c.isalnum() else " " for c in author).split() if w]
        for w in words:
            out.append(tantivy.Query.term_query(schema, "author", w))
    if f.sources:
        ids = [source_ids.get(s, s) for s in f.sources]
        out.append(any_of(schema, "source", ids))
    if f.item_ids is not None:  # topics and tags, resolved to their documents by the app
        from spyglass.index.lexical import iid_key

        out.append(tantivy.Query.term_set_query(schema, "iid", [iid_key(i) for i in f.item_ids])
                   if f.item_ids else tantivy.Query.empty_query())
    return [tantivy.Query.const_score_query(q, 0.0) for q in out]


def acl_query(schema: tantivy.Schema, principals: acl.Principals) -> tantivy.Query | None:
    """Documents readable by any of ``principals`` — the same rule as
    :func:`spyglass.index.catalog.acl_condition`: None for :data:`~spyglass.core.acl.EVERYTHING` (no clause), a query
    matching nothing for an empty list."""
    p = acl.require(principals)
    if isinstance(p, acl.Everything):
        return None
    if not p:
        return tantivy.Query.empty_query()
    return tantivy.Query.const_score_query(any_of(schema, "acl", list(p)), 0.0)
