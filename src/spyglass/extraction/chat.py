"""Slack exports (the standard layout: ``channels.json``, ``users.json``, one folder per channel with one JSON file
per day), from a folder or a .zip. One child document per channel-day, readable by the channel's members."""

from __future__ import annotations

import io
import json
import os
import stat
import zipfile
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from spyglass.core.errors import ExtractionError
from spyglass.core.ids import hash_bytes
from spyglass.core.types import ChildDoc, Extracted, Segment
from spyglass.extraction.base import Blob, Context
from spyglass.extraction.guards import check_zip, read_member


class RefusedName(Exception):
    """A name from inside an export that is not a plain name, or a location that leaves the export."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind, self.message = kind, message


def plain_name(name: object, what: str) -> str:
    """``name`` when it is one plain path component; raises :class:`RefusedName` otherwise. Names inside an export
    are names, never paths: no separators, no ``.``/``..``, no NUL, nothing absolute."""
    if not isinstance(name, str) or not name or name in (".", "..") or any(c in name for c in "/\\\0"):
        raise RefusedName("unsafe-name", f"{what} name {name!r} is not a plain name: refused (names inside an export "
                                         "are never read as paths)")
    return name


class _Tree:
    """Read-only access to the export, whether a folder or a zip. Every location it reads is resolved and must lie
    inside the export folder (a link inside the export that points out is refused)."""

    def __init__(self, blob: Blob, ctx: Context) -> None:
        self.root: Path | None = None
        self.zf: zipfile.ZipFile | None = None
        self.prefix = ""
        self.ctx = ctx
        if blob.path is not None and blob.path.is_dir():
            self.root = blob.path
        else:
            with blob.open() as fh:
                data = fh.read()
            self.zf = check_zip(io.BytesIO(data), ctx)
            names = self.zf.namelist()
            tops = [n for n in names if n.endswith("channels.json")]
            if tops:
                self.prefix = tops[0][: -len("channels.json")]

    def _inside(self, *names: str) -> Path:
        """The real location of ``root/names...``; raises :class:`RefusedName` when it leaves the export."""
        assert self.root is not None
        real_root = os.path.realpath(self.root)
        p = os.path.realpath(os.path.join(real_root, *names))
        if not (p == real_root or p.startswith(real_root.rstrip("/") + "/")):
            raise RefusedName("outside-export", f"{'/'.join(names)!r} is a link to {p!r}, outside the export: "
                                                "refused")
        return Path(p)

    def read(self, *names: str) -> bytes | None:
        """The bytes of ``names`` joined (each a plain name), or None when absent; refused outside the export."""
        if self.root is not None:
            p = self._inside(*names)
            try:
                st = os.stat(p)
            except OSError:
                return None
            if not stat.S_ISREG(st.st_mode):  # a folder, FIFO or device named like a day file
                return None
            cap = int(self.ctx.limits.max_file_mb * 1024 * 1024)
            with open(p, "rb") as fh:
                data = fh.read(cap + 1)
            if len(data) > cap:
                raise ExtractionError("too-large", f"{'/'.join(names)} is over {self.ctx.limits.max_file_mb:g} MB "
                                                   "(limits.max_file_mb)")
            return data
        assert self.zf is not None
        try:
            return read_member(self.zf, self.zf.getinfo(self.prefix + "/".join(names)), self.ctx)
        except KeyError:
            return None

    def day_files(self, channel: str) -> list[str]:
        if self.root is not None:
            d = self._inside(channel)
            return sorted(p.name for p in d.glob("*.json")) if d.is_dir() else []
        assert self.zf is not None
        base = f"{self.prefix}{channel}/"
        return sorted(n[len(base):] for n in self.zf.namelist()
                      if n.startswith(base) and n.endswith(".json") and "/" not in n[len(base):])


def is_slack_export(names: set[str]) -> bool:
    return "channels.json" in names and "users.json" in names


def _load(tree: _Tree, name: str) -> list:
    try:
        raw = tree.read(name)
    except RefusedName as exc:
        raise ExtractionError(exc.kind, exc.message) from exc
    if raw is None:
        return []
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ExtractionError("corrupt", f"{name}: invalid JSON ({exc.msg})") from exc
    return value if isinstance(value, list) else []


def _refused(n: int, name: object, exc: RefusedName) -> ChildDoc:
    """The record of an entry that was not read. Nobody but the export's owner (and administrators) sees it."""
    label = repr(name)[:200]
    key = hash_bytes(label.encode())[:8]
    return ChildDoc(f"refused/{n}/{key}", f"refused entry {n + 1}.{key}", "chat", error=(exc.kind, exc.message),
                    acl=[])


def extract_slack_export(blob: Blob, ctx: Context) -> Extracted:
    tree = _Tree(blob, ctx)
    users = {u.get("id"): u for u in _load(tree, "users.json") if isinstance(u, dict)}

    def display(uid: str | None, msg: dict) -> str:
        if msg.get("user_profile", {}).get("real_name"):
            return msg["user_profile"]["real_name"]
        u = users.get(uid or "")
        if u:
            return u.get("real_name") or u.get("profile", {}).get("real_name") or u.get("name") or uid
        return msg.get("username") or uid or "unknown"

    def principals(members: list[str]) -> list[str]:
        out = set()
        for m in members:
            out.add(f"slack:{m}")
            mail = (users.get(m) or {}).get("profile", {}).get("email")
            if mail:
                out.add(f"email:{mail.lower()}")
        return sorted(out)

    conversations: list[tuple[dict, str]] = []
    for fname, kind in (("channels.json", "channel"), ("groups.json", "private"), ("mpims.json", "group-dm"),
                        ("dms.json", "dm")):
        for c in _load(tree, fname):
            if isinstance(c, dict) and (c.get("name") or c.get("id")):
                conversations.append((c, kind))
    if not conversations:
        raise ExtractionError("corrupt", "Slack export without channels")
    children: list[ChildDoc] = []
    for n, (conv, kind) in enumerate(conversations):
        members = [m for m in conv.get("members") or [] if isinstance(m, str)]
        readers = principals(members)
        try:
            folder = plain_name(conv.get("name") or conv.get("id"), "channel")
            days = tree.day_files(folder)
        except RefusedName as exc:
            children.append(_refused(n, conv.get("name") or conv.get("id"), exc))
            continue
        for day in days:
            try:
                raw = tree.read(folder, day) or b"[]"
            except RefusedName as exc:
                children.append(_refused(n, f"{folder}/{day}", exc))
                continue
            try:
                messages = json.loads(raw)
            except json.JSONDecodeError:
                children.append(ChildDoc(f"{folder}/{day}", f"#{folder} {day[:-5]}", "chat",
                                         error=("corrupt", "invalid JSON"), acl=readers))
                continue
            lines: list[str] = []
            authors: Counter[str] = Counter()
            first_ts = None
            for m in messages if isinstance(messages, list) else []:
                if not isinstance(m, dict) or not m.get("text"):
                    continue
                try:
                    ts = float(m.get("ts", 0))
                except (TypeError, ValueError):
                    ts = 0.0
                first_ts = ts if first_ts is None else min(first_ts, ts)
                who = display(m.get("user"), m)
                authors[who] += 1
                when = datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%H:%M")
                lines.append(f"[{when}] {who}: {m['text']}")
            if not lines:
                continue
            text = "\n".join(lines)[: ctx.text_budget]
            ex = Extracted(
                segments=[Segment(text)],
                title=f"#{folder} {day[:-5]}",
                author=authors.most_common(1)[0][0],
                created=first_ts,
                meta={"channel": folder, "conversation": kind, "authors": sorted(authors)},
                type="chat",
                acl=readers,
            )
            children.append(
                ChildDoc(
                    locator=f"{folder}/{day}",
                    name=ex.title or day,
                    type="chat",
                    extracted=ex,
                    acl=readers,
                    modified=first_ts,
                    size=len(raw),
                    mime="application/json",
                    content_hash=hash_bytes(raw),
                )
            )
    return Extracted(segments=[], children=children, title="Slack export", type="chat-export",
                     meta={"conversations": len(conversations)})
