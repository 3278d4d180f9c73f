"""What an organize plan proposes, from suggestions already computed over the caller's readable documents.

* **duplicates** — every file of its own in an exact-copy group except the one kept (:mod:`spyglass.organize.keeper`:
  the best-filed copy, then one without a copy mark, then the newest) moves to ``<source root>/<holding folder>/<same
  relative path>``, with the reason it lost. Copies inside a container file (a message in a mailbox, an attachment)
  stay where they are; near-duplicates and look-alike images are listed by ``spyglass duplicates`` only (they are
  not the same bytes: a person decides);
* **unfiled** — a file lying in its source's top folder moves to the folder its most similar files are in
  (:func:`spyglass.organize.folders.suggest_folders`) when that folder has at least ``min_folder_confidence`` of the
  vote; only named folders are candidates (not an inbox-like folder, not the holding folder);
* **generic names** — ``Document1.docx``, ``scan 3.pdf``, ``untitled.txt`` are renamed to the document's title;
* **tags** — a document without tags (a file, or a message or chat day inside one, named by its id) gets the tags
  suggested from the user's own tags or the zero-shot vocabulary with a score of at least ``max(0.5, min_tag_score)``,
  with their reasons. Folder names alone never make a tag action: the folder already says it.

Nothing is written: the result is a :class:`spyglass.organize.plan.Plan` for the user to review.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from spyglass.organize.duplicates import DuplicateGroup, file_path
from spyglass.organize.folders import suggest_folders
from spyglass.organize.keeper import keep_reason, place_rank
from spyglass.organize.plan import Action, Plan
from spyglass.organize.tags import TagBoard

GENERIC_NAME = re.compile(r"^(document|doc|untitled|new( document)?|scan|img|image|file|copy( of)?)[ _-]*\(?\d*\)?$",
                          re.IGNORECASE)
TAG_FLOOR = 0.5  # a plan's tags need at least this score (or [organize] min_tag_score when higher)
TAG_SOURCES = ("tagged", "zero-shot")  # folder names alone never make a tag action


@dataclass
class PlanSettings:
    holding_folder: str = "_spyglass_duplicates"
    min_folder_confidence: float = 0.5
    min_tag_score: float = 0.3


@dataclass
class PlanInputs:
    """``files``: the caller's readable files of their own; ``documents``: every readable document by id (files and
    what is inside them); ``file_vectors``: ``(ids, rows)`` of the files' document vectors (None: no vectors);
    ``tags``: the tag board over the documents (None: no tag actions)."""

    files: list[dict[str, Any]]
    documents: dict[str, dict[str, Any]]
    exact_groups: list[DuplicateGroup]
    file_vectors: tuple[list[str], Any] | None = None
    tags: TagBoard | None = None


@dataclass
class _Draft:
    actions: list[Action] = field(default_factory=list)
    claimed: set[str] = field(default_factory=set)
    targets: set[str] = field(default_factory=set)

    def move(self, f: dict[str, Any], op: str, to: str, why: str) -> None:
        if to in self.targets or os.path.lexists(to):
            return
        self.targets.add(to)
        self.claimed.add(f["id"])
        st = os.lstat(file_path(f))
        self.actions.append(Action(op, file_path(f), to, None, why, st.st_size, st.st_mtime_ns))


def _movable(f: dict[str, Any], draft: _Draft) -> bool:
    return not f.get("parent_id") and f["id"] not in draft.claimed and os.path.isfile(file_path(f))


def _duplicates(inputs: PlanInputs, s: PlanSettings, draft: _Draft) -> None:
    for g in inputs.exact_groups:
        keep = inputs.documents[g.keep]
        for member in g.files:
            f = inputs.documents[member["id"]]
            if f["id"] == g.keep or not _movable(f, draft) or place_rank(f, s.holding_folder) < 0:
                continue
            rel = os.path.relpath(file_path(f), f["source_root"])
            where = f"{keep['name']} in {keep['path']}" if keep.get("parent_id") else keep["path"]
            draft.move(f, "move", os.path.join(f["source_root"], s.holding_folder, rel),
                       f"exact copy of {where} (kept: {keep_reason(keep, f, s.holding_folder)})")


def _unfiled(inputs: PlanInputs, s: PlanSettings, draft: _Draft) -> None:
    if inputs.file_vectors is None or not inputs.file_vectors[0]:
        return
    ids, x = inputs.file_vectors
    row = {i: n for n, i in enumerate(ids)}
    filed = [n for n, i in enumerate(ids) if place_rank(inputs.documents[i], s.holding_folder) == 3]
    if not filed:
        return
    folders = [os.path.dirname(file_path(inputs.documents[ids[n]])) for n in filed]
    for f in inputs.files:
        if f["id"] not in row or place_rank(f, s.holding_folder) != 1 or not _movable(f, draft):
            continue
        sug = suggest_folders(x[row[f["id"]]], x[filed], folders, top=1)
        if sug and sug[0].confidence >= s.min_folder_confidence:
            draft.move(f, "move", os.path.join(sug[0].folder, os.path.basename(file_path(f))),
                       f"unfiled; similar files are in {sug[0].folder} (confidence {sug[0].confidence:.2f})")


def _renames(inputs: PlanInputs, draft: _Draft) -> None:
    for f in inputs.files:
        p = file_path(f)
        stem, ext = os.path.splitext(os.path.basename(p))
        if not f.get("title") or not GENERIC_NAME.match(stem) or not _movable(f, draft):
            continue
        slug = re.sub(r"[^\w\- ]+", "", f["title"]).strip()[:80].strip()
        if slug:
            draft.move(f, "rename", os.path.join(os.path.dirname(p), slug + ext),
                       f"generic name; the document's title is {f['title']!r}")


def _tags(inputs: PlanInputs, s: PlanSettings, draft: _Draft) -> None:
    board = inputs.tags
    if board is None:
        return
    floor = max(TAG_FLOOR, s.min_tag_score)
    for iid in board.ids:
        if any(w > 0 for w in board.tags.get(iid, {}).values()):
            continue  # the user tagged it already
        d = inputs.documents[iid]
        for sug in board.suggest(iid, top=2, min_score=floor):
            if sug.sources[0] in TAG_SOURCES:
                draft.actions.append(Action("tag", file_path(d), None, sug.tag, "; ".join(sug.reasons),
                                            item=iid if d.get("parent_id") else None))


def make_plan(inputs: PlanInputs, settings: PlanSettings | None = None, tags: bool = True) -> Plan:
    """The plan's actions, in this order: duplicate copies, unfiled files, generic names, tags."""
    s = settings or PlanSettings()
    draft = _Draft()
    _duplicates(inputs, s, draft)
    _unfiled(inputs, s, draft)
    _renames(inputs, draft)
    if tags:
        _tags(inputs, s, draft)
    return Plan.new(draft.actions)
