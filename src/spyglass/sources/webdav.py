"""WebDAV folders (WsgiDAV, Apache mod_dav, Nextcloud/ownCloud ``remote.php/dav/files/USER/``): a remote folder
indexed like a local one. The tree is walked with ``PROPFIND Depth: 1`` per folder (Depth: infinity is often
disabled); the key is the file's path under the location and the token its ETag (else size and modification time),
so only new and changed files are downloaded. Hidden names (``.*``) are skipped like in local folders.

Principals: the account (``account`` setting, default ``dav:LOGIN@HOST``) plus the source's owner and readers.
Downloads and previews in the server are fetched from the WebDAV server again on request, after the caller's
permission on the indexed item is checked, and only while the file is the one that was indexed (same content hash).
Settings: ``user``, ``password_env``/``password_file``, ``max_depth`` (default 32).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from urllib.parse import urlsplit

from spyglass.sources.caldav import PROPS, account_principal
from spyglass.sources.connector import (
    ConnectorError,
    Entry,
    Fetched,
    ItemError,
    SourceSpec,
    safe_folder,
    safe_name,
    secret,
    timeout_of,
)
from spyglass.sources.http import OUTSIDE, HttpClient

MAX_FOLDERS = 20000


class WebDavConnector:
    kind = "webdav"

    def __init__(self, spec: SourceSpec) -> None:
        self.spec = spec
        self.user = spec.settings.get("user")
        self.http = HttpClient(spec.location, self.user, secret(spec.settings) if self.user else None,
                               timeout_of(spec.settings), deadline_s=10 * timeout_of(spec.settings))
        self.account = account_principal(spec, self.user, self.http.host)
        self.max_depth = int(spec.settings.get("max_depth", 32))

    def entries(self) -> Iterator[Entry]:
        base = self.http.base
        todo: list[tuple[str, int]] = [("", 0)]
        seen = 0
        while todo:
            rel_dir, depth = todo.pop()
            seen += 1
            if seen > MAX_FOLDERS:
                raise ConnectorError(f"more than {MAX_FOLDERS} folders: refused")
            for r in self.http.propfind(base + rel_dir, "1", PROPS):
                if r.rel == OUTSIDE:
                    yield Entry(key=f"outside:{r.href}", token="", name=safe_name(posixpath.basename(r.href)),
                                folder=safe_folder(rel_dir), handle=("outside", r.href))
                    continue
                if not r.rel.strip("/"):
                    continue  # the folder itself
                rel = rel_dir + r.rel.strip("/")  # hrefs are relative to the folder listed
                name = posixpath.basename(rel)
                if name.startswith("."):
                    continue
                if r.is_collection:
                    if depth + 1 <= self.max_depth:
                        todo.append((rel + "/", depth + 1))
                    continue
                yield Entry(key=rel, token=r.etag or f"{r.size}:{r.modified}", name=safe_name(name),
                            folder=safe_folder(posixpath.dirname(rel)), size=r.size, modified=r.modified,
                            handle=("file", base + rel))

    def fetch(self, entry: Entry) -> Fetched:
        kind, href = entry.handle if entry.handle else ("file", self.http.base + entry.key)
        if kind == "outside":
            raise ItemError("unsafe-path", f"the server listed {href!r}, outside the shared folder: not read")
        r = self.http.request("GET", href)
        if r.status == 404:
            raise ItemError("gone", "deleted on the server during the sync")
        if r.status != 200:
            raise ItemError("http", f"GET {href}: {r.status}")
        u = urlsplit(self.spec.location)
        return Fetched(data=r.body, name=entry.name, principals=[self.account], modified=entry.modified,
                       meta={"etag": entry.token, "webdav_path": entry.key}, uri=f"{u.scheme}://{u.netloc}{href}")

    def close(self) -> None:
        pass
