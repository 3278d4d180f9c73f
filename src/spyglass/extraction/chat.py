"""Slack exports (the standard layout: ``channels.json``, ``users.json``, one folder per channel with one JSON file
per day), from a folder or a .zip. One child document per channel-day, readable by the channel's members."""

from __future__ import annotations

import io
import json
import zipfile
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from spyglass.core.errors import ExtractionError
from spyglass.core.ids import hash_bytes
from spyglass.core.types import ChildDoc, Extracted, Segment
from spyglass.extraction.base import Blob, Context
from spyglass.extraction.guards import check_zip, read_member


class _Tree:
    """Read-only access to the export, whether a folder or a zip."""

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

    def read(self, rel: str) -> bytes | None:
        if self.root is not None:
            p = self.root / rel
            return p.read_bytes() if p.is_file() else None
        assert self.zf is not None
        try:
            return read_member(self.zf, self.zf.getinfo(self.prefix + rel), self.ctx)
        except KeyError:
            return None

    def day_files(self, channel: str) -> list[str]:
        if self.root is not None:
            d = self.root / channel
            return sorted(p.name for p in d.glob("*.json")) if d.is_dir() else []
        assert self.zf is not None
        base = f"{self.prefix}{channel}/"
        return sorted(n[len(base):] for n in self.zf.namelist() if n.startswith(base) and n.endswith(".json"))


def is_slack_export(names: set[str]) -> bool:
    return "channels.json" in names and "users.json" in names


def _load(tree: _Tree, name: str) -> list:
    raw = tree.read(name)
    if raw is None:
        return []
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ExtractionError("corrupt", f"{name}: invalid JSON ({exc.msg})") from exc
    return value if isinstance(value, list) else []


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
    for conv, kind in conversations:
        folder = conv.get("name") or conv.get("id")
        members = [m for m in conv.get("members") or [] if isinstance(m, str)]
        readers = principals(members)
        for day in tree.day_files(folder):
            raw = tree.read(f"{folder}/{day}") or b"[]"
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
            text = "\n".join(lines)[: ctx.max_text_chars]
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
