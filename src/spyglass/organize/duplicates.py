"""Duplicate documents: exact copies (same content hash), near-duplicate text (MinHash) and look-alike images (dHash).

Documents are files and what lives inside them (mail messages, chat days, attachments, archive members), so a PDF
saved to disk and the same PDF attached to a mail are copies, and so are two mails with the same text. Trivial
documents (:mod:`spyglass.organize.trivial`: ``[]``, empty files, blank pictures) are left out. Groups are connected
components of the "duplicate of" relation (union-find). In each group the copy to keep is the most complete one in
the best-filed place (:mod:`spyglass.organize.keeper`): the others are what a plan may move to a holding folder —
only files of their own; a document inside a container file is never moved out of it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from spyglass.organize.imagehash import LOOKALIKE_BITS, lookalike_pairs
from spyglass.organize.keeper import choose_keeper
from spyglass.organize.minhash import near_duplicate_pairs
from spyglass.organize.trivial import TEXT_TYPES, TrivialRule

TextsFn = Callable[[list[str]], dict[str, str]]  # item ids -> their indexed text


@dataclass
class DuplicateGroup:
    kind: str  # exact | near | image
    similarity: float  # 1.0 for exact copies; the least similar linked pair otherwise
    keep: str  # the id of the copy to keep
    files: list[dict[str, Any]] = field(default_factory=list)  # id, path, name, size, modified, type, inside

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "similarity": round(self.similarity, 4), "keep": self.keep, "files": self.files}


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def file_path(f: dict[str, Any]) -> str:
    """The file's path on disk (its exact bytes when the catalog has them)."""
    return os.fsdecode(f["path_raw"]) if f.get("path_raw") else f["path"]


def _public(f: dict[str, Any]) -> dict[str, Any]:
    return {**{k: f.get(k) for k in ("id", "path", "name", "size", "modified", "type")},
            "inside": bool(f.get("parent_id"))}


@dataclass
class _Grouping:
    holding_folder: str

    def group(self, kind: str, similarity: float, fs: list[dict[str, Any]]) -> DuplicateGroup:
        fs = sorted(fs, key=lambda f: (f["path"], f.get("name") or "", f["id"]))
        return DuplicateGroup(kind, similarity, choose_keeper(fs, self.holding_folder)["id"], [_public(f) for f in fs])

    def components(self, kind: str, docs: dict[str, dict], pairs: list[tuple[str, str, float]]) -> list[DuplicateGroup]:
        uf = _UnionFind()
        for a, b, _ in pairs:
            uf.union(a, b)
        low: dict[str, float] = {}
        for a, _, s in pairs:
            r = uf.find(a)
            low[r] = min(low.get(r, 1.0), s)
        members: dict[str, list[str]] = {}
        for iid in {x for a, b, _ in pairs for x in (a, b)}:
            members.setdefault(uf.find(iid), []).append(iid)
        return [self.group(kind, low.get(root, 1.0), [docs[i] for i in ids]) for root, ids in members.items()]


def _exact(docs: list[dict[str, Any]], texts: TextsFn, trivial: TrivialRule) -> list[list[dict[str, Any]]]:
    by_hash: dict[str, list[dict]] = {}
    for f in docs:
        if f.get("content_hash") and not trivial(f):  # by size and pixels first: no text needed
            by_hash.setdefault(f["content_hash"], []).append(f)
    sets = [fs for fs in by_hash.values() if len(fs) > 1]
    wordy = texts([fs[0]["id"] for fs in sets if fs[0].get("type") in TEXT_TYPES])  # one text per content
    return [fs for fs in sets if fs[0]["id"] not in wordy or not trivial.text(wordy[fs[0]["id"]])]


def find_duplicates(docs: list[dict[str, Any]], texts: TextsFn, near: float | None = 0.8, images: bool = True,
                    lookalike_bits: int = LOOKALIKE_BITS, trivial: TrivialRule | None = None,
                    holding_folder: str = "_spyglass_duplicates") -> list[DuplicateGroup]:
    """Duplicate groups among ``docs`` (rows from :meth:`OrganizeStore.documents`: only what the caller may read).
    ``texts`` fetches indexed texts by id; ``near`` None: exact copies only; ``images``: look-alike pictures at a
    Hamming distance of at most ``lookalike_bits`` of 64."""
    trivial = trivial or TrivialRule()
    grouping = _Grouping(holding_folder)
    by_id = {f["id"]: f for f in docs}
    groups = [grouping.group("exact", 1.0, fs) for fs in _exact(docs, texts, trivial)]
    copies = {f["id"] for g in groups for f in g.files if f["id"] != g.keep}
    if near is not None:
        # one representative per exact group: its copies would only repeat the same near pairs
        ids = [f["id"] for f in docs if f["id"] not in copies and f.get("type") != "image"
               and (f.get("text_chars") or 0) > 0]
        got = texts(ids)
        keep = {i: t for i, t in got.items() if not trivial(by_id[i], t)}
        groups += grouping.components("near", by_id, near_duplicate_pairs(keep, near))
    if images:
        hashes = {f["id"]: int(f["dhash"], 16) for f in docs  # from indexing (older indexes: none until re-read)
                  if f.get("type") == "image" and f["id"] not in copies and f.get("dhash") and not trivial(f)}
        groups += grouping.components("image", by_id, lookalike_pairs(hashes, lookalike_bits))
    order = {"exact": 0, "near": 1, "image": 2}
    return sorted(groups, key=lambda g: (order[g.kind], -len(g.files), g.files[0]["path"]))
