"""Browser history and bookmarks — "what was that page I read last week": Firefox (``places.sqlite``) and
Chromium/Chrome (``History`` and ``Bookmarks``), from a profile folder or the file itself.

One document per web page: its title, address, bookmark folders and visits; type ``bookmark`` when bookmarked, else
``history``; the item's date is the last visit (so ``type:history after:2025-03-01`` is last week's reading). The key
is the address; the token the last visit, visit count, title and bookmark folders. The database is copied (with its
write-ahead log) before it is read, so a running browser is neither blocked nor read half-written.

Principals: the source's owner and readers (a browser profile is one person's).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from datetime import datetime, timezone
from urllib.parse import urlsplit

from spyglass.sources.connector import MAX_LISTING, ConnectorError, Entry, Fetched, SourceSpec, safe_name

MAX_URL = 4096
CHROME_EPOCH = 11644473600  # seconds from 1601-01-01 to 1970-01-01


class _Browser:
    kind = "browser"
    db_name = ""

    def __init__(self, spec: SourceSpec) -> None:
        self.spec = spec
        loc = os.path.realpath(spec.location)
        self.profile = loc if os.path.isdir(loc) else os.path.dirname(loc)
        self.db = loc if os.path.isfile(loc) else os.path.join(loc, self.db_name)
        if not os.path.isfile(self.db):
            raise ConnectorError(f"{spec.location}: no {self.db_name} here (give the profile folder)")
        self.tmp = tempfile.mkdtemp(prefix="spyglass-browser-")

    def _copy(self) -> sqlite3.Connection:
        dest = os.path.join(self.tmp, "copy.sqlite")
        for suffix in ("", "-wal"):
            if os.path.exists(self.db + suffix):
                shutil.copyfile(self.db + suffix, dest + suffix)
        try:
            con = sqlite3.connect(f"file:{dest}?mode=ro", uri=True)
            con.execute("PRAGMA query_only = 1")
            return con
        except sqlite3.Error as exc:
            raise ConnectorError(f"{self.db}: not a readable database: {exc}") from None

    def pages(self) -> Iterator[tuple[str, str, int, float | None, list[str]]]:
        """(url, title, visits, last visit, bookmark folders)"""
        raise NotImplementedError

    def entries(self) -> Iterator[Entry]:
        n = 0
        try:
            for url, title, visits, last, folders in self.pages():
                if not url.startswith(("http://", "https://")) or len(url) > MAX_URL:
                    continue
                n += 1
                if n > MAX_LISTING:
                    raise ConnectorError(f"more than {MAX_LISTING} pages: refused")
                host = urlsplit(url).hostname or ""
                token = f"{last}:{visits}:{title}:{'|'.join(folders)}"
                yield Entry(key=url, token=token, name=safe_name((title or host or url)[:120]) + ".txt",
                            folder=safe_name(host), modified=last, handle=(url, title, visits, last, folders))
        except sqlite3.Error as exc:
            raise ConnectorError(f"{self.db}: {exc}") from None

    def fetch(self, entry: Entry) -> Fetched:
        url, title, visits, last, folders = entry.handle
        when = datetime.fromtimestamp(last, timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if last else "never"
        lines = [title or url, url, f"Visited {visits} times, last on {when}"]
        if folders:
            lines.append("Bookmarked in: " + "; ".join(folders))
        return Fetched(data="\n".join(lines).encode(), name=entry.name, type="bookmark" if folders else "history",
                       title=title or url, modified=last,
                       meta={"url": url, "visits": visits, "bookmark_folders": folders, "browser": self.kind},
                       uri=url)

    def close(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


class FirefoxConnector(_Browser):
    kind = "firefox"
    db_name = "places.sqlite"

    def pages(self) -> Iterator[tuple[str, str, int, float | None, list[str]]]:
        con = self._copy()
        try:
            rows = con.execute("SELECT id, parent, title FROM moz_bookmarks WHERE type = 2")
            folders: dict[int, tuple[int, str]] = {i: (p, t or "") for i, p, t in rows}

            def path(parent: int) -> str:
                out, seen = [], set()
                while parent in folders and parent not in seen and len(out) < 50:
                    seen.add(parent)
                    parent, title = folders[parent]
                    if title:
                        out.append(title)
                return "/".join(reversed(out))

            marks: dict[int, list[str]] = {}
            for fk, parent in con.execute("SELECT fk, parent FROM moz_bookmarks WHERE type = 1 AND fk IS NOT NULL"):
                marks.setdefault(fk, []).append(path(parent) or "Bookmarks")
            for pid, url, title, visits, last in con.execute(
                    "SELECT id, url, title, visit_count, last_visit_date FROM moz_places ORDER BY id"):
                if not visits and pid not in marks:
                    continue
                yield str(url), str(title or ""), int(visits or 0), (last / 1e6 if last else None), marks.get(pid, [])
        finally:
            con.close()


class ChromiumConnector(_Browser):
    kind = "chromium"
    db_name = "History"

    def _bookmarks(self) -> dict[str, list[str]]:
        path = os.path.join(self.profile, "Bookmarks")
        out: dict[str, list[str]] = {}
        if not os.path.isfile(path) or os.path.getsize(path) > 64 * 1024 * 1024:
            return out
        try:
            with open(path, encoding="utf-8") as fh:
                roots = json.load(fh).get("roots", {})
        except (OSError, ValueError, AttributeError):
            return out

        def walk(node: dict, trail: list[str], depth: int) -> None:
            if not isinstance(node, dict) or depth > 50:
                return
            if node.get("type") == "url" and node.get("url"):
                out.setdefault(str(node["url"]), []).append("/".join(trail) or "Bookmarks")
            for child in node.get("children") or []:
                walk(child, trail + [str(node.get("name") or "")] if node.get("type") == "folder" else trail,
                     depth + 1)

        for root in roots.values() if isinstance(roots, dict) else []:
            walk(root, [], 0)
        return out

    def pages(self) -> Iterator[tuple[str, str, int, float | None, list[str]]]:
        marks = self._bookmarks()
        con = self._copy()
        seen = set()
        try:
            for url, title, visits, last in con.execute(
                    "SELECT url, title, visit_count, last_visit_time FROM urls ORDER BY id"):
                seen.add(url)
                when = last / 1e6 - CHROME_EPOCH if last else None
                yield str(url), str(title or ""), int(visits or 0), when, marks.get(url, [])
        finally:
            con.close()
        for url, folders in marks.items():  # bookmarked, never visited from this profile
            if url not in seen:
                yield url, "", 0, None, folders
