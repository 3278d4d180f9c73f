"""Page exports: Notion (HTML or Markdown), Confluence (HTML space export) and Obsidian vaults. The page hierarchy
becomes folders: a page's folder is the chain of its parent pages' titles.

- Notion names every page ``Title <32 hex id>.md`` (or ``.html``) and puts its sub-pages in a folder ``Title <id>/``;
  the ids are dropped from titles and folders. Databases come as ``.csv``.
- Confluence writes pages flat (``Title_123456.html``) with their ancestors in a breadcrumb list, and attachments in
  ``attachments/<page id>/``: folders come from the breadcrumbs; an attachment sits under its page (and names it in
  ``meta.related``).
- Obsidian: ``[[wiki-links]]`` (and ``![[embeds]]``) become related items (``meta.related``: their ids); front
  matter ``tags`` are kept in ``meta.tags``.

Principals: the source's owner and readers (an export says nothing about who could read a page: default-deny).
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Iterator
from html.parser import HTMLParser

from spyglass.sources.connector import Entry, Fetched, safe_folder, safe_name
from spyglass.sources.exports.base import LocalExport

_NOTION_ID = re.compile(r"\s+[0-9a-f]{32}(?=\.[A-Za-z0-9]+$|$)")
_WIKI = re.compile(r"!?\[\[([^\]|#^]+)(?:[#^][^\]|]*)?(?:\|[^\]]*)?\]\]")
_MD_LINK = re.compile(r"\]\(([^)\s]+\.(?:md|html))\)")
PAGE_EXTS = (".md", ".html", ".htm", ".csv")
MAX_PAGE_SCAN = 4 * 1024 * 1024  # bytes of a page read for its links and breadcrumbs


def notion_name(name: str) -> str:
    return _NOTION_ID.sub("", name)


class NotionConnector(LocalExport):
    kind = "notion"

    def display_folder(self, folder: str) -> str:
        return safe_folder("/".join(notion_name(p) for p in folder.split("/")))

    def entries(self) -> Iterator[Entry]:
        for e in super().entries():
            e.name = safe_name(notion_name(e.name))
            yield e

    def describe(self, entry: Entry, path: str) -> Fetched:
        title = os.path.splitext(entry.name)[0]
        related = []
        if path.endswith((".md", ".html")):
            text = _head(path)
            base = os.path.dirname(entry.handle)
            from urllib.parse import unquote

            for link in _MD_LINK.findall(text) + re.findall(r'href="([^"#?]+\.(?:md|html))"', text):
                target = os.path.normpath(os.path.join(base, unquote(link)))
                if not target.startswith(".."):
                    related.append(target)
        return Fetched(name=entry.name, title=title if not entry.name.endswith(".csv") else None,
                       modified=entry.modified, meta={"notion_path": entry.folder}, related=sorted(set(related)),
                       uri=f"file://{path}")


class _Breadcrumbs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.crumbs: list[str] = []
        self.title = ""
        self._in_title = self._in_crumb = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "ol" and a.get("id") == "breadcrumbs":
            self.depth = 1
        elif tag == "ol" and self.depth:
            self.depth += 1
        elif tag == "a" and self.depth:
            self._in_crumb = True
            self.crumbs.append("")
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "ol" and self.depth:
            self.depth -= 1
        elif tag == "a":
            self._in_crumb = False
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_crumb and self.crumbs:
            self.crumbs[-1] += data
        elif self._in_title:
            self.title += data


class ConfluenceConnector(LocalExport):
    kind = "confluence"

    def wanted(self, rel: str, name: str) -> bool:
        return not rel.startswith(("styles" + os.sep, "images" + os.sep)) and name != "index.html"

    def _page(self, rel: str) -> tuple[str, list[str]]:
        p = _Breadcrumbs()
        try:
            p.feed(_head(self.path_of(rel)))
        except Exception:  # a torn page: no breadcrumbs
            pass
        title = html.unescape(p.title).strip()
        if " : " in title:
            title = title.split(" : ", 1)[1]
        crumbs = [html.unescape(c).strip() for c in p.crumbs if c.strip()]
        return title, crumbs[1:]  # the first crumb is the space itself

    def entries(self) -> Iterator[Entry]:
        pages: dict[str, tuple[str, str, str]] = {}  # page id -> (title, folder, key)
        rest: list[Entry] = []
        for e in super().entries():
            if e.key.endswith((".html", ".htm")) and "/" not in e.key.replace(os.sep, "/"):
                title, crumbs = self._page(e.key)
                folder = safe_folder("/".join(c.replace("/", " ") for c in crumbs))
                pid = re.search(r"(\d+)\.html?$", e.key)
                if pid:
                    pages[pid.group(1)] = (title, folder, e.key)
                e.folder = folder
                e.handle = (e.key, title, None)
                yield e
            else:
                rest.append(e)
        for e in rest:  # attachments/<page id>/<file>: under their page
            parts = e.key.replace(os.sep, "/").split("/")
            page = None
            if len(parts) >= 3 and parts[0] == "attachments" and parts[1] in pages:
                title, folder, page = pages[parts[1]]
                e.folder = "/".join(p for p in (folder, safe_name(title)) if p)
            e.handle = (e.key, None, page)
            yield e

    def fetch(self, entry: Entry) -> Fetched:
        rel, title, page = entry.handle
        path = self.path_of(rel)
        return Fetched(path=path, name=entry.name, title=title or None, modified=entry.modified,
                       meta={"confluence_path": entry.folder}, uri=f"file://{path}",
                       related=[page] if page else [])  # an attachment points at its page


class ObsidianConnector(LocalExport):
    kind = "obsidian"

    def entries(self) -> Iterator[Entry]:
        self.notes: dict[str, str] = {}  # lower-case note name (and name with extension) -> key
        listed = list(super().entries())
        for e in listed:
            base = e.key.replace(os.sep, "/")
            self.notes.setdefault(os.path.basename(base).lower(), e.key)
            self.notes.setdefault(os.path.splitext(os.path.basename(base))[0].lower(), e.key)
            self.notes.setdefault(os.path.splitext(base)[0].lower(), e.key)
        yield from listed

    def describe(self, entry: Entry, path: str) -> Fetched:
        related, tags = [], []
        if path.endswith(".md"):
            text = _head(path)
            for target in _WIKI.findall(text):
                key = self.notes.get(target.strip().lower()) if hasattr(self, "notes") else None
                if key and key != entry.key:
                    related.append(key)
            m = re.match(r"---\n(.*?)\n---", text, re.S)
            if m:
                t = re.search(r"^tags:\s*(.+)$", m.group(1), re.M)
                if t:
                    tags = [x.strip(" []#'\"") for x in re.split(r"[,\s]+", t.group(1)) if x.strip(" []#'\"")]
        return Fetched(name=entry.name, modified=entry.modified, related=sorted(set(related)),
                       meta={"tags": tags} if tags else {}, uri=f"file://{path}")


def _head(path: str) -> str:
    with open(path, "rb") as fh:
        return fh.read(MAX_PAGE_SCAN).decode("utf-8", "replace")
