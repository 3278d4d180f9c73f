"""Filters and access control as an SQL predicate over the catalog's ``items`` (alias ``i``), for the vector search's
ID selector. The same semantics as :mod:`spyglass.retrieval.filters` (the tantivy clauses); a differential test
checks that both select the same documents."""

from __future__ import annotations

import os
import sqlite3

from spyglass.core.acl import Principals
from spyglass.core.query import Filters
from spyglass.index.catalog import acl_condition


def _tokens(text: str | None) -> set[str]:
    if not text:
        return set()
    return set("".join(c.lower() if c.isalnum() else " " for c in text).split())


def register_functions(db: sqlite3.Connection) -> None:
    db.create_function("sg_ext", 1, lambda name: os.path.splitext(name or "")[1].lower().lstrip("."),
                       deterministic=True)
    db.create_function("sg_has_token", 2, lambda text, word: int(word in _tokens(text)), deterministic=True)


def _like_prefix(folder: str) -> str:
    esc = folder.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return esc.rstrip("/") + "/%"


def predicate(f: Filters, principals: Principals, source_ids: dict[str, str]) -> tuple[str, list]:
    """``(sql, params)`` selecting the items (``items i``) that pass the filters and the caller's principals."""
    parts: list[str] = ["i.status != 'deleted'"]
    params: list = []
    if f.types:
        parts.append(f"i.type IN ({','.join('?' * len(set(f.types)))})")
        params += sorted(set(f.types))
    if f.exts:
        parts.append(f"sg_ext(i.name) IN ({','.join('?' * len(set(f.exts)))})")
        params += sorted(set(f.exts))
    for folder in f.folders:
        parts.append("i.path LIKE ? ESCAPE '\\'")
        params.append(_like_prefix(folder))
    if f.after is not None:
        parts.append("coalesce(i.modified, 0) >= ?")
        params.append(f.after)
    if f.before is not None:
        parts.append("coalesce(i.modified, 0) < ?")
        params.append(f.before)
    if f.min_size is not None:
        parts.append("i.size >= ?")
        params.append(f.min_size)
    if f.max_size is not None:
        parts.append("i.size <= ?")
        params.append(f.max_size)
    for author in f.authors:
        for w in _tokens(author):
            parts.append("sg_has_token(i.author, ?)")
            params.append(w)
    if f.sources:
        ids = [int(source_ids.get(s, s)) if str(source_ids.get(s, s)).isdigit() else -1 for s in f.sources]
        parts.append(f"i.source_id IN ({','.join('?' * len(ids))})")
        params += ids
    if f.item_ids is not None:
        parts.append(f"i.id IN ({','.join('?' * len(f.item_ids))})" if f.item_ids else "0")
        params += list(f.item_ids)
    cond, acl_params = acl_condition(principals)
    parts.append(cond)
    params += acl_params
    return " AND ".join(parts), params
