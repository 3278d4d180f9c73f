"""Discord (DiscordChatExporter JSON) and Mattermost (bulk export JSON lines) chat exports: one child document per
channel-day, ``[HH:MM] author: text`` lines, readable by the principals the export supports (docs/sources.md)."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import datetime, timezone
from typing import Any

from spyglass.core.errors import ExtractionError
from spyglass.core.types import ChildDoc, Extracted, Segment
from spyglass.extraction.base import Blob, Context


def _day_docs(days: dict[tuple[str, str], list[tuple[float, str, str]]], readers: dict[str, list[str]],
              ctx: Context, kind: str) -> list[ChildDoc]:
    out: list[ChildDoc] = []
    limit = ctx.limits.max_archive_members
    for (channel, day), msgs in sorted(days.items()):
        if len(out) >= limit:
            break
        msgs.sort()
        authors = Counter(a for _, a, _ in msgs)
        text = "\n".join(f"[{datetime.fromtimestamp(t, timezone.utc):%H:%M}] {a}: {m}" for t, a, m in msgs)
        ex = Extracted(segments=[Segment(text[: ctx.max_text_chars])], title=f"#{channel} {day}",
                       author=authors.most_common(1)[0][0], created=msgs[0][0],
                       meta={"channel": channel, "conversation": kind, "authors": sorted(authors)}, type="chat",
                       acl=readers.get(channel) or None)
        out.append(ChildDoc(locator=f"{channel}/{day}", name=ex.title or day, type="chat", extracted=ex, acl=ex.acl,
                            modified=msgs[0][0], mime="application/json"))
    return out


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d")


def _iso(value: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def extract_discord(blob: Blob, ctx: Context) -> Extracted:
    try:
        doc = json.loads(blob.read())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ExtractionError("corrupt", f"not a DiscordChatExporter JSON file: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("messages"), list):
        raise ExtractionError("corrupt", "not a DiscordChatExporter JSON file (no messages)")
    channel = str((doc.get("channel") or {}).get("name") or "channel")
    guild = str((doc.get("guild") or {}).get("name") or "")
    days: dict[tuple[str, str], list] = defaultdict(list)
    writers: set[str] = set()
    for m in doc["messages"]:
        if not isinstance(m, dict):
            continue
        author = m.get("author") if isinstance(m.get("author"), dict) else {}
        text = str(m.get("content") or "")
        for att in m.get("attachments") or []:
            if isinstance(att, dict) and att.get("fileName"):
                text += f" [attachment: {att['fileName']}]"
        ts = _iso(m.get("timestamp"))
        if not text.strip() or ts is None:
            continue
        if author.get("id"):
            writers.add(f"discord:{author['id']}")
        days[(channel, _day(ts))].append((ts, str(author.get("nickname") or author.get("name") or "unknown"), text))
    children = _day_docs(days, {channel: sorted(writers)}, ctx, "discord")
    if not children:
        raise ExtractionError("empty", "no messages in the export")
    return Extracted(children=children, title=f"{guild} #{channel}".strip(), type="chat-export",
                     meta={"guild": guild, "channel": channel})


def extract_mattermost(blob: Blob, ctx: Context) -> Extracted:
    users: dict[str, dict] = {}
    posts: list[dict] = []
    for n, line in enumerate(blob.read().splitlines()):
        if not line.strip():
            continue
        if n > 10 * ctx.limits.max_archive_members:
            raise ExtractionError("too-large", "too many lines in the export (limits.max_archive_members)")
        try:
            rec = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue  # one torn line does not spoil the export
        if not isinstance(rec, dict):
            continue
        if rec.get("type") == "user" and isinstance(rec.get("user"), dict):
            users[str(rec["user"].get("username"))] = rec["user"]
        elif rec.get("type") in ("post", "direct_post"):
            p = rec.get(rec["type"])
            if isinstance(p, dict):
                posts.append(p | {"_direct": rec["type"] == "direct_post"})
    members: dict[str, set[str]] = defaultdict(set)
    for name, u in users.items():
        for team in u.get("teams") or []:
            for ch in (team or {}).get("channels") or []:
                if isinstance(ch, dict) and ch.get("name"):
                    members[str(ch["name"])].add(name)
    days: dict[tuple[str, str], list] = defaultdict(list)
    readers: dict[str, list[str]] = {}

    def principals(names: set[str]) -> list[str]:
        out = set()
        for nm in names:
            out.add(f"mattermost:{nm}")
            mail = (users.get(nm) or {}).get("email")
            if mail:
                out.add(f"email:{str(mail).lower()}")
        return sorted(out)

    for p in posts:
        if p["_direct"]:
            names = {str(x) for x in p.get("channel_members") or []}
            channel = "dm-" + "-".join(sorted(names))
        else:
            names = members.get(str(p.get("channel")), set())
            channel = str(p.get("channel") or "channel")
        readers.setdefault(channel, principals(names))
        for post in [p, *[r for r in p.get("replies") or [] if isinstance(r, dict)]]:
            try:
                ts = float(post.get("create_at") or 0) / 1000
            except (TypeError, ValueError):
                continue
            text = str(post.get("message") or "")
            if text.strip() and ts > 0:
                days[(channel, _day(ts))].append((ts, str(post.get("user") or "unknown"), text))
    children = _day_docs(days, readers, ctx, "mattermost")
    if not children:
        raise ExtractionError("empty", "no posts in the export")
    return Extracted(children=children, title="Mattermost export", type="chat-export",
                     meta={"channels": len({c for c, _ in days})})
