"""Organize plans: a readable, editable YAML file of proposed moves, renames and tags.

Nothing is done when a plan is written. The user reads it, deletes or edits actions, and applies it with
``spyglass organize apply`` (:mod:`spyglass.organize.apply`). Each file action records the file's size and modified
time as planned, so a file that changed since is skipped rather than moved.

A document inside a container file (a mail message in a mailbox, a chat day in an export) is never moved or renamed:
a plan may only tag it, naming it by ``item`` (its document id) beside ``path`` (the container file).
"""

from __future__ import annotations

import os
import re
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from spyglass.core.errors import SpyglassError

PLAN_FORMAT = 1
OPS = ("move", "rename", "tag")
ITEM_ID = re.compile(r"[0-9a-f]{16}")

HEADER = """\
# Spyglass organize plan. Nothing has been changed yet.
# Review it: delete any action you do not want, or edit a target ("to") or a tag. Then:
#     spyglass organize apply {path}
# and, to revert exactly what was applied:
#     spyglass organize undo {id}
# Files are only ever moved or renamed (never deleted or overwritten); duplicates go to a holding folder.
# A file that changed after this plan was written, or a target that already exists, is skipped.
"""


class PlanError(SpyglassError):
    pass


@dataclass
class Action:
    op: str  # move | rename | tag
    path: str  # the file, absolute (for a document inside a container: the container file)
    to: str | None = None  # move / rename: the new absolute path
    tag: str | None = None  # tag: the tag to add
    why: str = ""
    size: int | None = None
    mtime_ns: int | None = None
    item: str | None = None  # tag: the document's id, for a document inside a container file

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None and v != ""}


@dataclass
class Plan:
    id: str
    created: float
    actions: list[Action]

    @staticmethod
    def new(actions: list[Action]) -> Plan:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        return Plan(f"{stamp}-{secrets.token_hex(2)}", time.time(), actions)

    def to_yaml(self, path: str = "PLAN") -> str:
        import yaml

        body = {"spyglass_plan": PLAN_FORMAT, "id": self.id,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(self.created)),
                "actions": [a.to_dict() for a in self.actions]}
        return HEADER.format(path=path, id=self.id) + yaml.safe_dump(body, sort_keys=False, allow_unicode=True,
                                                                    width=120)

    def write(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(self.to_yaml(str(path)), encoding="utf-8")
        os.replace(tmp, path)

    @staticmethod
    def load(path: Path) -> Plan:
        import yaml

        try:
            body = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise PlanError(f"cannot read the plan {path}: {exc}") from exc
        if not isinstance(body, dict) or body.get("spyglass_plan") != PLAN_FORMAT:
            raise PlanError(f"{path} is not a Spyglass plan (format {PLAN_FORMAT})")
        if not isinstance(body.get("id"), str) or not body["id"].replace("-", "").isalnum():
            raise PlanError(f"{path}: the plan id is missing or malformed")
        actions = []
        for n, a in enumerate(body.get("actions") or [], 1):
            actions.append(_action(a, n, path))
        return Plan(body["id"], time.time(), actions)


def _action(a: Any, n: int, path: Path) -> Action:
    if not isinstance(a, dict) or a.get("op") not in OPS:
        raise PlanError(f"{path}: action {n} needs an op, one of {', '.join(OPS)}")
    known = {"op", "path", "to", "tag", "why", "size", "mtime_ns", "item"}
    if set(a) - known:
        raise PlanError(f"{path}: action {n} has unknown keys {sorted(set(a) - known)}")
    if not isinstance(a.get("path"), str) or not os.path.isabs(a["path"]):
        raise PlanError(f"{path}: action {n} needs an absolute path")
    if a["op"] in ("move", "rename"):
        if not isinstance(a.get("to"), str) or not os.path.isabs(a["to"]):
            raise PlanError(f"{path}: action {n} ({a['op']}) needs an absolute 'to'")
        if os.path.normpath(a["to"]) == os.path.normpath(a["path"]):
            raise PlanError(f"{path}: action {n} moves a file onto itself")
    if a["op"] == "tag" and (not isinstance(a.get("tag"), str) or not a["tag"].strip()):
        raise PlanError(f"{path}: action {n} (tag) needs a tag")
    if a.get("item") is not None and (a["op"] != "tag" or not isinstance(a["item"], str)
                                      or not ITEM_ID.fullmatch(a["item"])):
        raise PlanError(f"{path}: action {n}: 'item' names a document id (16 hex digits), on tag actions only")
    for k in ("size", "mtime_ns"):
        if a.get(k) is not None and not isinstance(a[k], int):
            raise PlanError(f"{path}: action {n}: {k} must be an integer")
    return Action(a["op"], os.path.normpath(a["path"]), os.path.normpath(a["to"]) if a.get("to") else None,
                  a["tag"].strip() if a.get("tag") else None, str(a.get("why") or ""), a.get("size"), a.get("mtime_ns"),
                  a.get("item"))
