"""Duplicate files: exact copies (same content hash), near-duplicate text (MinHash) and look-alike images (dHash).

Groups are connected components of the "duplicate of" relation (union-find). In each group the copy to keep is the
newest (latest modified time; then the shortest path): the others are what a plan may move to a holding folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import os
from typing import Any

from spyglass.organize.imagehash import LOOKALIKE_BITS, hamming
from spyglass.organize.minhash import near_duplicate_pairs


@dataclass
class DuplicateGroup:
    kind: str  # exact | near | image
    similarity: float  # 1.0 for exact copies; the least similar linked pair otherwise
    keep: str  # the id of the copy to keep
    files: list[dict[str, Any]] = field(default_factory=list)  # id, path, size, modified

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


def _keeper(files: list[dict[str, Any]]) -> str:
    return max(files, key=lambda f: (f.get("modified") or 0, -len(f["path"]), f["path"]))["id"]


def _public(f: dict[str, Any]) -> dict[str, Any]:
    return {k: f.get(k) for k in ("id", "path", "size", "modified", "type")}


def _groups(kind: str, files: dict[str, dict], pairs: list[tuple[str, str, float]]) -> list[DuplicateGroup]:
    uf = _UnionFind()
    low: dict[str, float] = {}
    for a, b, s in pairs:
        uf.union(a, b)
    members: dict[str, list[str]] = {}
    for a, b, s in pairs:
        r = uf.find(a)
        low[r] = min(low.get(r, 1.0), s)
    for iid in {x for a, b, _ in pairs for x in (a, b)}:
        members.setdefault(uf.find(iid), []).append(iid)
    out = []
    for root, ids in members.items():
        fs = sorted((files[i] for i in ids), key=lambda f: f["path"])
        out.append(DuplicateGroup(kind, low.get(root, 1.0), _keeper(fs), [_public(f) for f in fs]))
    return out


def find_duplicates(files: list[dict[str, Any]], texts: dict[str, str] | None = None, near: float | None = 0.8,
                    images: bool = True) -> list[DuplicateGroup]:
    """Duplicate groups among ``files`` (rows from :meth:`OrganizeStore.files`: only what the caller may read).
    ``texts``: item id → text for near duplicates (None or ``near=None``: exact copies only)."""
    by_id = {f["id"]: f for f in files}
    groups: list[DuplicateGroup] = []
    by_hash: dict[str, list[dict]] = {}
    for f in files:
        if f.get("content_hash") and (f.get("size") or 0) > 0:
            by_hash.setdefault(f["content_hash"], []).append(f)
    exact_ids: set[str] = set()
    for fs in by_hash.values():
        if len(fs) > 1:
            fs.sort(key=lambda f: f["path"])
            groups.append(DuplicateGroup("exact", 1.0, _keeper(fs), [_public(f) for f in fs]))
            exact_ids.update(f["id"] for f in fs if f["id"] != groups[-1].keep)
    if near is not None and texts:
        # one representative per exact group: its copies would only repeat the same near pairs
        pairs = near_duplicate_pairs({i: t for i, t in texts.items() if i in by_id and i not in exact_ids}, near)
        groups += _groups("near", by_id, pairs)
    if images:
        hashes = {}
        for f in files:  # the hash comes from indexing (images indexed by an older version have none until re-read)
            if f.get("type") == "image" and f["id"] not in exact_ids and f.get("dhash"):
                hashes[f["id"]] = int(f["dhash"], 16)
        ids = sorted(hashes)
        pairs = [(a, b, 1 - hamming(hashes[a], hashes[b]) / 64) for i, a in enumerate(ids) for b in ids[i + 1:]
                 if hamming(hashes[a], hashes[b]) <= LOOKALIKE_BITS]
        groups += _groups("image", by_id, pairs)
    order = {"exact": 0, "near": 1, "image": 2}
    return sorted(groups, key=lambda g: (order[g.kind], -len(g.files), g.files[0]["path"]))
