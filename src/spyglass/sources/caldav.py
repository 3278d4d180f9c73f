"""CalDAV and CardDAV (Radicale, Nextcloud, Baïkal, ...): every calendar and address book under the account's URL.
Each event is a document of type ``event`` (title, time, place, organizer, attendees, description), each contact a
``contact`` (the extraction is :mod:`spyglass.extraction.calendar`).

Discovery: ``PROPFIND Depth: 1`` on the location lists its collections; those whose resource type is a CalDAV
calendar or a CardDAV address book are read (the location itself may be one). Each collection is listed with
``PROPFIND Depth: 1`` for ETags: the key is the resource's path, the token its ETag, so only new and changed events and
contacts are downloaded (``GET``), and a vanished path is deleted.

Principals: the account (``account`` setting, default ``dav:LOGIN@HOST``) plus, for an event, its organizer and
attendees (``email:``), plus the source's owner and readers. Settings: ``user``, ``password_env``/``password_file``.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from urllib.parse import quote, urlsplit
from xml.sax.saxutils import escape

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
from spyglass.sources.http import DAV, OUTSIDE, HttpClient

CALDAV = "{urn:ietf:params:xml:ns:caldav}"
CARDDAV = "{urn:ietf:params:xml:ns:carddav}"
MAX_COLLECTIONS = 1000
PROPS = ("<d:prop><d:resourcetype/><d:displayname/><d:getetag/><d:getcontenttype/><d:getlastmodified/>"
         "<d:getcontentlength/></d:prop>")


def account_principal(spec: SourceSpec, user: str | None, host: str) -> str:
    return spec.settings.get("account") or f"dav:{user or 'anonymous'}@{host}"


class CalDavConnector:
    kind = "caldav"

    def __init__(self, spec: SourceSpec) -> None:
        self.spec = spec
        self.user = spec.settings.get("user")
        self.http = HttpClient(spec.location, self.user, secret(spec.settings) if self.user else None,
                               timeout_of(spec.settings), deadline_s=10 * timeout_of(spec.settings))
        self.account = account_principal(spec, self.user, self.http.host)

    def _collections(self) -> list[tuple[str, str, str]]:
        """(path, kind, display name) of the calendars and address books at the location."""
        base = self.http.base
        out = []
        for r in self.http.propfind(base, "1", PROPS):
            if r.rel == OUTSIDE or not r.is_collection:
                continue
            rt = r.props.get(f"{DAV}resourcetype")
            kind = ("calendar" if rt is not None and rt.find(f"{CALDAV}calendar") is not None else
                    "addressbook" if rt is not None and rt.find(f"{CARDDAV}addressbook") is not None else "")
            if kind:
                name = r.props[f"{DAV}displayname"].text if f"{DAV}displayname" in r.props else ""
                out.append((base + r.rel + ("/" if r.rel else ""), kind, (name or r.rel or kind).strip()))
            if len(out) > MAX_COLLECTIONS:
                raise ConnectorError(f"more than {MAX_COLLECTIONS} collections: refused")
        return out

    def entries(self) -> Iterator[Entry]:
        for path, kind, display in self._collections():
            ext = ".ics" if kind == "calendar" else ".vcf"
            for r in self.http.propfind(path, "1", PROPS):
                if r.rel == OUTSIDE:
                    yield Entry(key=f"outside:{r.href}", token="", name=safe_name(posixpath.basename(r.href)),
                                folder=safe_folder(display), handle=("outside", r.href))
                    continue
                if r.is_collection or not r.rel:
                    continue
                name = safe_name(posixpath.basename(r.rel))
                if not name.lower().endswith(ext):
                    name += ext
                yield Entry(key=f"{path}{r.rel}", token=r.etag or f"{r.size}:{r.modified}", name=name,
                            folder=safe_folder(display), size=r.size, modified=r.modified, handle=(kind, path + r.rel))

    def prefetch(self, entries: list[Entry]) -> None:
        """A batch of events or contacts in one ``calendar-multiget`` / ``addressbook-multiget`` REPORT per
        collection (RFC 4791 7.9, RFC 6352 8.7) instead of one GET each; what the server leaves out is fetched
        alone."""
        self._data: dict[str, bytes] = {}
        groups: dict[tuple[str, str], list[str]] = {}
        for e in entries:
            if e.handle and e.handle[0] in ("calendar", "addressbook"):
                groups.setdefault((e.handle[0], e.handle[1].rsplit("/", 1)[0] + "/"), []).append(e.handle[1])
        for (kind, collection), hrefs in groups.items():
            ns, tag, data = (("c", "calendar-multiget", "calendar-data") if kind == "calendar"
                             else ("card", "addressbook-multiget", "address-data"))
            uri = CALDAV[1:-1] if kind == "calendar" else CARDDAV[1:-1]
            body = (f'<?xml version="1.0" encoding="utf-8"?><{ns}:{tag} xmlns:d="DAV:" xmlns:{ns}="{uri}">'
                    f"<d:prop><d:getetag/><{ns}:{data}/></d:prop>"
                    + "".join(f"<d:href>{escape(quote(h))}</d:href>" for h in hrefs) + f"</{ns}:{tag}>")
            try:
                found = self.http.report(collection, body)
            except ConnectorError:
                continue  # a server without multiget: one GET each
            key = ("{" + uri + "}") + data
            for r in found:
                if r.rel != OUTSIDE and key in r.props and r.props[key].text:
                    self._data[collection + r.rel] = r.props[key].text.encode("utf-8")

    def fetch(self, entry: Entry) -> Fetched:
        kind, href = entry.handle if entry.handle else ("calendar", entry.key)
        if kind == "outside":
            raise ItemError("unsafe-path", f"the server listed {href!r}, outside the collection: not read")
        body = getattr(self, "_data", {}).pop(href, None)
        if body is None:
            r = self.http.request("GET", href)
            if r.status == 404:
                raise ItemError("gone", "deleted on the server during the sync")
            if r.status != 200:
                raise ItemError("http", f"GET {href}: {r.status}")
            body = r.body
        u = urlsplit(self.spec.location)
        return Fetched(data=body, name=entry.name, principals=[self.account], modified=entry.modified,
                       meta={"collection": entry.folder, "etag": entry.token},
                       uri=f"{u.scheme}://{u.netloc}{href}")

    def close(self) -> None:
        pass
