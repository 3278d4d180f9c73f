"""A small, bounded HTTP/WebDAV client (standard library ``http.client``) for the DAV connectors.

Every request has a connect/read timeout and an overall deadline, every answer a size cap; redirects are not
followed; XML answers with a DOCTYPE are refused (no entity expansion); ``href``s are resolved against the collection
and must stay inside it (a server that answers ``../../etc/passwd`` gets an error, not a read outside the source).
"""

from __future__ import annotations

import base64
import http.client
import posixpath
import socket
import ssl
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit

from spyglass.sources.connector import MAX_ITEM_BYTES, TIMEOUT_S, ConnectorError, ItemError

MAX_XML_BYTES = 32 * 1024 * 1024  # one PROPFIND/REPORT answer
DAV = "{DAV:}"
OUTSIDE = "\x00outside"  # rel of an href that names something outside the collection


@dataclass(slots=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(slots=True)
class DavResource:
    href: str  # decoded path on the server, inside the collection
    rel: str  # path relative to the collection ("" for the collection itself)
    is_collection: bool
    etag: str = ""
    size: int = 0
    modified: float | None = None
    content_type: str = ""
    props: dict[str, ET.Element] = field(default_factory=dict)


class HttpClient:
    def __init__(self, url: str, user: str | None = None, password: str | None = None,
                 timeout: float = TIMEOUT_S, deadline_s: float = 120.0) -> None:
        u = urlsplit(url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ConnectorError(f"not an http(s) URL: {url!r}")
        self.scheme, self.host, self.port = u.scheme, u.hostname, u.port
        self.base = (u.path or "/").rstrip("/") + "/"
        self.timeout = timeout
        self.deadline_s = deadline_s
        self.auth = None
        if user is not None:
            token = base64.b64encode(f"{user}:{password or ''}".encode()).decode()
            self.auth = f"Basic {token}"

    def _conn(self) -> http.client.HTTPConnection:
        if self.scheme == "https":
            return http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout,
                                               context=ssl.create_default_context())
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
                max_bytes: int = MAX_ITEM_BYTES) -> Response:
        """One request; the answer is read up to ``max_bytes`` (more: ItemError ``too-large``) before a deadline."""
        h = {"User-Agent": "spyglass", "Accept-Encoding": "identity", **(headers or {})}
        if self.auth:
            h["Authorization"] = self.auth
        conn = self._conn()
        start = time.monotonic()
        try:
            conn.request(method, quote(path, safe="/%@:+,;=~!$&'()*"), body=body, headers=h)
            resp = conn.getresponse()
            declared = resp.getheader("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise ItemError("too-large", f"{method} {path}: the server announced {int(declared)} bytes, over the "
                                             f"{max_bytes} byte limit")
            chunks, total = [], 0
            while True:
                if time.monotonic() - start > self.deadline_s:
                    raise ConnectorError(f"{method} {path}: no complete answer within {self.deadline_s:g} s")
                chunk = resp.read(65536)
                if not chunk:
                    break
                total += len(chunk)
                if total > max_bytes:
                    raise ItemError("too-large", f"{method} {path}: answer over the {max_bytes} byte limit")
                chunks.append(chunk)
            return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, b"".join(chunks))
        except (socket.timeout, TimeoutError) as exc:
            raise ConnectorError(f"{method} {path}: the server stalled (no data for {self.timeout:g} s)") from exc
        except (ConnectionError, OSError, http.client.HTTPException) as exc:
            raise ConnectorError(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        finally:
            conn.close()

    # -- WebDAV ---------------------------------------------------------------------------------------------------
    def propfind(self, path: str, depth: str = "1", props: str = "<d:allprop/>",
                 namespaces: str = 'xmlns:d="DAV:"') -> list[DavResource]:
        body = f'<?xml version="1.0" encoding="utf-8"?><d:propfind {namespaces}>{props}</d:propfind>'.encode()
        return self._multistatus("PROPFIND", path, body, {"Depth": depth})

    def report(self, path: str, body: str) -> list[DavResource]:
        return self._multistatus("REPORT", path, body.encode(), {"Depth": "1"})

    def _multistatus(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> list[DavResource]:
        try:
            r = self.request(method, path, body, {"Content-Type": "application/xml; charset=utf-8", **headers},
                             max_bytes=MAX_XML_BYTES)
        except ItemError as exc:
            raise ConnectorError(exc.message) from None
        if r.status == 401:
            raise ConnectorError(f"{method} {path}: 401 unauthorized (check the user and the password setting)")
        if r.status != 207:
            raise ConnectorError(f"{method} {path}: expected 207 Multi-Status, got {r.status}")
        return parse_multistatus(r.body, path)


def parse_multistatus(body: bytes, collection: str) -> list[DavResource]:
    """The resources of a 207 answer; each href must lie inside ``collection``."""
    head = body[:2048].lower()
    if b"<!doctype" in head or b"<!entity" in body.lower():
        raise ConnectorError("the server's XML declares a DOCTYPE or entities: refused")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise ConnectorError(f"malformed XML from the server: {exc}") from None
    base = posixpath.normpath(unquote(collection)).rstrip("/") + "/"
    out: list[DavResource] = []
    for resp in root.iter(f"{DAV}response"):
        href_el = resp.find(f"{DAV}href")
        if href_el is None or not (href_el.text or "").strip():
            continue
        raw = unquote(urlsplit(href_el.text.strip()).path)
        if "\x00" in raw:
            raise ConnectorError("an href with a NUL byte")
        norm = posixpath.normpath(raw)  # resolves "..": what the href really names
        if norm == base.rstrip("/"):
            rel = ""
        elif norm.startswith(base):
            rel = norm[len(base):]
        else:
            out.append(DavResource(href=raw, rel=OUTSIDE, is_collection=False))  # the caller records it
            continue
        props: dict[str, ET.Element] = {}
        for ps in resp.iter(f"{DAV}propstat"):
            status = (ps.findtext(f"{DAV}status") or "")
            if " 200" not in status:
                continue
            prop = ps.find(f"{DAV}prop")
            for p in prop if prop is not None else []:
                props[p.tag] = p
        rt = props.get(f"{DAV}resourcetype")
        is_coll = rt is not None and rt.find(f"{DAV}collection") is not None
        size = (props.get(f"{DAV}getcontentlength").text or "0") if f"{DAV}getcontentlength" in props else "0"
        out.append(DavResource(
            href=norm, rel=rel, is_collection=is_coll,
            etag=(props[f"{DAV}getetag"].text or "").strip() if f"{DAV}getetag" in props else "",
            size=int(size) if size.strip().isdigit() else 0,
            modified=_http_date(props[f"{DAV}getlastmodified"].text) if f"{DAV}getlastmodified" in props else None,
            content_type=(props[f"{DAV}getcontenttype"].text or "") if f"{DAV}getcontenttype" in props else "",
            props=props,
        ))
    return out


def _http_date(value: str | None) -> float | None:
    from email.utils import parsedate_to_datetime

    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
