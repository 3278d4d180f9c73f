"""Carry out a reviewed plan with a write-ahead journal; undo it exactly.

Rules (docs/organize.md):

* Never delete, never overwrite. A move is ``link(src, dst)`` then ``unlink(src)`` on one file system — ``link`` fails
  when ``dst`` exists, so a target that appeared meanwhile is never replaced — or, across file systems, a copy to a
  hidden partial file beside the target, fsync, a no-overwrite link into place, then removing the source.
* A file whose size or modified time differ from the plan's record is skipped ("changed since the plan").
* Before each step the journal gets a ``begin`` line (flushed and fsynced), after it a ``done`` line. After a crash,
  ``apply`` again resumes: a step with ``begin`` but no ``done`` is settled by looking at the disk (moved, not moved,
  half-way with both names on one inode, or — across file systems — a complete copy beside the source, which is
  then removed); a half-written ``.NAME.spyglass-partial`` copy is removed. ``undo`` settles it the same way first,
  then reverts.
* Undo walks the ``done`` steps backwards, moving each file back only when it is still where the plan put it, with the
  same size, and its old name is free; folders the plan created are removed only when empty.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from spyglass.core.errors import SpyglassError
from spyglass.organize.plan import Action, Plan

TagFn = Callable[[str, str, bool], bool]  # (document id or path, tag, add) -> done


@dataclass
class StepResult:
    index: int
    op: str
    path: str
    to: str | None
    status: str  # done | skipped | undone | already
    reason: str = ""

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "")}


@dataclass
class Report:
    plan_id: str
    steps: list[StepResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for s in self.steps if s.status == status)

    def to_dict(self) -> dict:
        return {"plan": self.plan_id, "done": self.count("done"), "skipped": self.count("skipped"),
                "undone": self.count("undone"), "already": self.count("already"),
                "steps": [s.to_dict() for s in self.steps]}


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path

    def entries(self) -> list[dict]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut by a crash: everything before it stands
                break
        return out

    def write(self, **entry: object) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"t": round(time.time(), 3), **entry}) + "\n")
            f.flush()
            os.fsync(f.fileno())


def journal_path(journals: Path, plan_id: str) -> Path:
    if not plan_id.replace("-", "").isalnum():
        raise SpyglassError(f"not a plan id: {plan_id!r}")
    return journals / f"{plan_id}.jsonl"


def _no_overwrite_move(src: str, dst: str) -> None:
    try:
        os.link(src, dst)  # raises FileExistsError rather than replace dst
    except OSError as exc:
        if isinstance(exc, FileExistsError) or exc.errno not in (18, 1, 38, 95):  # EXDEV, EPERM, ENOSYS, EOPNOTSUPP
            raise
        part = _partial(dst)
        shutil.copy2(src, part)
        with open(part, "rb") as f:
            os.fsync(f.fileno())
        if os.path.getsize(part) != os.path.getsize(src):
            os.unlink(part)  # our own partial copy, never the user's file
            raise OSError(f"copy of {src} came out short") from exc
        try:
            os.link(part, dst)
        finally:
            os.unlink(part)
    os.unlink(src)


def _partial(dst: str) -> str:
    return os.path.join(os.path.dirname(dst), f".{os.path.basename(dst)}.spyglass-partial")


def _drop_partial(dst: str) -> None:
    """Remove the half-written copy an interrupted move across file systems left beside ``dst`` (ours by its name)."""
    part = _partial(dst)
    try:
        if stat.S_ISREG(os.lstat(part).st_mode):
            os.unlink(part)
    except FileNotFoundError:
        pass


def _same_content(a: str, b: str) -> bool:
    import hashlib

    if os.path.getsize(a) != os.path.getsize(b):
        return False
    digests = []
    for p in (a, b):
        h = hashlib.blake2b()
        with open(p, "rb") as fh:
            while block := fh.read(1 << 20):
                h.update(block)
        digests.append(h.digest())
    return digests[0] == digests[1]


def _settle(src: str, dst: str) -> str:
    """Where an interrupted move stands: ``moved``, ``not-moved`` or ``unclear``; a half-way move is completed and its
    half-written copy removed."""
    _drop_partial(dst)
    s, d = os.path.lexists(src), os.path.lexists(dst)
    if d and not s:
        return "moved"
    if s and not d:
        return "not-moved"
    if s and d and os.path.samefile(src, dst):
        os.unlink(src)  # both names on one inode: the move's link happened, its unlink did not
        return "moved"
    if s and d and os.path.isfile(src) and os.path.isfile(dst) and _same_content(src, dst):
        os.unlink(src)  # across file systems: the copy was linked into place, the source not yet removed
        return "moved"
    return "unclear"


def _made_dirs(target_dir: str) -> list[str]:
    """Create ``target_dir``'s missing folders; returns those created, outermost first."""
    missing = []
    d = target_dir
    while d and not os.path.exists(d):
        missing.append(d)
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    for m in reversed(missing):
        os.mkdir(m)
        # like its parent, whatever this process's umask (the command line runs with 077 for the data directory)
        os.chmod(m, stat.S_IMODE(os.stat(os.path.dirname(m)).st_mode) & 0o2777)
    return list(reversed(missing))


def _check(a: Action) -> str | None:
    try:
        st = os.lstat(a.path)
    except FileNotFoundError:
        return "the file is gone"
    except OSError as exc:
        return f"cannot read the file: {exc.strerror}"
    if not os.path.isfile(a.path) or os.path.islink(a.path):
        return "not a regular file"
    if (a.size is not None and st.st_size != a.size) or (a.mtime_ns is not None and st.st_mtime_ns != a.mtime_ns):
        return "changed since the plan"
    if a.op in ("move", "rename") and os.path.lexists(a.to or ""):
        return "the target exists"
    return None


def apply_plan(plan: Plan, journals: Path, tag: TagFn | None = None,
               on_step: Callable[[StepResult], None] | None = None) -> Report:
    j = Journal(journal_path(journals, plan.id))
    past = j.entries()
    done = {e["i"] for e in past if e.get("state") == "done"}
    begun = {e["i"]: e for e in past if e.get("state") == "begin"}
    if not past:
        j.write(state="plan", plan=plan.id, actions=[a.to_dict() for a in plan.actions])
    report = Report(plan.id)

    def record(r: StepResult) -> None:
        report.steps.append(r)
        if on_step:
            on_step(r)

    for i, a in enumerate(plan.actions):
        if i in done:
            record(StepResult(i, a.op, a.path, a.to, "already"))
            continue
        if a.op == "tag":
            ok = bool(tag and tag(a.item or a.path, a.tag or "", True))
            if ok:
                j.write(i=i, state="done", op="tag", path=a.path, tag=a.tag, **({"item": a.item} if a.item else {}))
            record(StepResult(i, a.op, a.path, None, "done" if ok else "skipped",
                              "" if ok else "the file is not in the index"))
            continue
        made: list[str] = []
        if i in begun:  # interrupted here last time
            where = _settle(a.path, a.to or "")
            if where == "moved":
                j.write(i=i, state="done", op=a.op, path=a.path, to=a.to, dirs=begun[i].get("dirs", []))
                record(StepResult(i, a.op, a.path, a.to, "done", "completed after an interruption"))
                continue
            if where == "unclear":
                j.write(i=i, state="skipped", reason="interrupted; both or neither name exist")
                record(StepResult(i, a.op, a.path, a.to, "skipped", "interrupted; both or neither name exist"))
                continue
            made = begun[i].get("dirs", [])
        reason = _check(a)
        if reason:
            j.write(i=i, state="skipped", reason=reason)
            record(StepResult(i, a.op, a.path, a.to, "skipped", reason))
            continue
        try:
            made = made + _made_dirs(os.path.dirname(a.to or ""))
            j.write(i=i, state="begin", op=a.op, path=a.path, to=a.to, dirs=made)
            _no_overwrite_move(a.path, a.to or "")
        except OSError as exc:
            reason = "the target exists" if isinstance(exc, FileExistsError) else f"could not move: {exc}"
            for d in reversed(made):
                _rmdir_if_empty(d)
            j.write(i=i, state="skipped", reason=reason)
            record(StepResult(i, a.op, a.path, a.to, "skipped", reason))
            continue
        j.write(i=i, state="done", op=a.op, path=a.path, to=a.to, dirs=made)
        record(StepResult(i, a.op, a.path, a.to, "done"))
    return report


def _rmdir_if_empty(d: str) -> None:
    try:
        os.rmdir(d)  # only succeeds on an empty folder
    except OSError:
        pass


def undo_plan(journals: Path, plan_id: str, tag: TagFn | None = None) -> Report:
    j = Journal(journal_path(journals, plan_id))
    entries = j.entries()
    if not entries:
        raise SpyglassError(f"no journal for plan {plan_id} in {journals}")
    done: dict[int, dict] = {}
    undone = {e["i"] for e in entries if e.get("state") == "undone"}
    for e in entries:
        if e.get("state") == "begin" and not any(x.get("i") == e["i"] and x.get("state") in ("done", "skipped")
                                                  for x in entries):
            if _settle(e["path"], e["to"]) == "moved":  # an interrupted step that did happen is undone too
                done[e["i"]] = e
        elif e.get("state") == "done":
            done[e["i"]] = e
    report = Report(plan_id)
    for i in sorted(done, reverse=True):
        e = done[i]
        if i in undone:
            report.steps.append(StepResult(i, e["op"], e["path"], e.get("to"), "already"))
            continue
        if e["op"] == "tag":
            ok = bool(tag and tag(e.get("item") or e["path"], e["tag"], False))
            j.write(i=i, state="undone")
            report.steps.append(StepResult(i, "tag", e["path"], None, "undone" if ok else "skipped",
                                           "" if ok else "the tag was already gone"))
            continue
        src, dst = e["to"], e["path"]
        _drop_partial(dst)  # an undo interrupted while copying back across file systems
        if os.path.lexists(src) and os.path.lexists(dst) and (
                os.path.samefile(src, dst) or (os.path.isfile(src) and os.path.isfile(dst) and _same_content(src, dst))):
            os.unlink(src)  # an undo interrupted between its link (or copy) and its unlink: finish it
            j.write(i=i, state="undone")
            report.steps.append(StepResult(i, e["op"], dst, src, "undone"))
            continue
        if not os.path.lexists(src):
            reason = "the file is no longer where the plan put it"
        elif os.path.lexists(dst):
            reason = "its old name is taken"
        else:
            reason = ""
        if reason:
            report.steps.append(StepResult(i, e["op"], dst, src, "skipped", reason))
            continue
        try:
            _no_overwrite_move(src, dst)
        except OSError as exc:
            report.steps.append(StepResult(i, e["op"], dst, src, "skipped", f"could not move back: {exc}"))
            continue
        for d in reversed(e.get("dirs") or []):
            _rmdir_if_empty(d)
        j.write(i=i, state="undone")
        report.steps.append(StepResult(i, e["op"], dst, src, "undone"))
    return report


def journals_list(journals: Path) -> list[dict]:
    out = []
    for p in sorted(journals.glob("*.jsonl"), key=lambda p: p.stat().st_mtime):
        es = Journal(p).entries()
        out.append({"plan": p.stem, "applied": es[0]["t"] if es else None,
                    "done": sum(1 for e in es if e.get("state") == "done"),
                    "undone": sum(1 for e in es if e.get("state") == "undone")})
    return out
