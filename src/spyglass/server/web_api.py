"""Endpoints the web app needs beyond the REST API: the landing page's recent files, thumbnails, and forgetting the
last user's page state. Every read passes the caller's principals into the catalog query, like the REST API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response
from fastapi.responses import FileResponse

from spyglass.core.errors import NotFoundError
from spyglass.server.auth import Caller, caller
from spyglass.server.thumbnails import KINDS, SIZES, ThumbnailError, thumbnail

router = APIRouter(prefix="/api")

CONTAINERS = ("mailbox", "chat-export", "zip")  # their messages, channel-days and members are listed instead
# The header the web app sends with /api/forget: a cross-site page cannot add it without a CORS preflight, which this
# server never grants, so no other site can make a visitor's browser drop this site's data.
FORGET_HEADER = "x-spyglass-forget"


def _state(request: Request):
    return request.app.state.spyglass


@router.get("/recent", tags=["discover"], summary="The caller's readable files and messages, newest first")
def recent(request: Request, limit: int = Query(12, ge=1, le=100), offset: int = Query(0, ge=0, le=10_000),
           c: Caller = Depends(caller)) -> dict[str, Any]:
    with _state(request).pool.reader() as sg:
        return {"files": recent_files(sg.reader().catalog.db, c.principals, limit, offset)}


def recent_files(db: Any, principals: list[str], limit: int, offset: int = 0) -> list[dict[str, Any]]:
    """Readable items by modification time, newest first (containers left out: their children are listed). The
    permission check is a clause of the query, like every catalog read."""
    marks = ",".join("?" * len(principals)) or "NULL"
    rows = db.execute(
        "SELECT i.id, i.path, i.name, i.title, i.type, i.modified, i.size, i.parent_id FROM items i "
        f"WHERE i.status IN ('ok', 'metadata') AND i.type NOT IN ({','.join('?' * len(CONTAINERS))}) "
        f"AND EXISTS (SELECT 1 FROM acl a WHERE a.item_id = i.id AND a.principal IN ({marks})) "
        "ORDER BY i.modified IS NULL, i.modified DESC, i.id LIMIT ? OFFSET ?",
        [*CONTAINERS, *principals, limit, offset])
    return [{"id": i, "path": p, "name": n, "title": t or n, "type": ty, "modified": m, "size": s, "parent_id": par,
             "thumbnail": ty in KINDS and par is None} for i, p, n, t, ty, m, s, par in rows]


@router.get("/documents/{doc_id}/thumbnail", tags=["documents"], response_class=FileResponse,
            summary="A small WebP picture of a readable image or PDF (its first page), made once and kept")
def document_thumbnail(doc_id: str, request: Request, size: int = Query(SIZES[0], description="160 or 320 (px)"),
                       c: Caller = Depends(caller)) -> Response:
    st = _state(request)
    if size not in SIZES:
        raise HTTPException(422, f"size: one of {', '.join(map(str, SIZES))}")
    doc = _readable_file(st, doc_id, c.principals)
    try:
        path = thumbnail(st.home / "thumbnails", doc, size, c.principals)
    except ThumbnailError as exc:
        raise HTTPException(404, f"no thumbnail: {exc}") from None
    etag = f'"{doc["content_hash"]}-{size}"'
    if request.headers.get("if-none-match") == etag:  # only after the permission and the file are checked
        return Response(status_code=304, headers=_thumb_headers(etag))
    return FileResponse(path, media_type="image/webp", headers=_thumb_headers(etag))


def _thumb_headers(etag: str) -> dict[str, str]:
    # private: never in a shared cache; no-cache: the browser asks again (a cheap 304 after the checks)
    return {"cache-control": "private, no-cache", "content-security-policy": "default-src 'none'; sandbox",
            "etag": etag}


def _readable_file(st: Any, doc_id: str, principals: list[str]) -> dict[str, Any]:
    """The caller's readable document with what identifies its file (404 for unknown and forbidden alike)."""
    if not (len(doc_id) == 16 and all(ch in "0123456789abcdef" for ch in doc_id)):
        raise HTTPException(404, f"no document {doc_id!r}")
    with st.pool.reader() as sg:
        try:
            d = sg.document(doc_id, principals, 0)  # the permission check of previews and downloads
        except NotFoundError as exc:
            raise HTTPException(404, str(exc)) from None
        row = sg.reader().catalog.db.execute(
            "SELECT content_hash, mtime_ns, size FROM items WHERE id = ?", (doc_id,)).fetchone()
    if row is None:
        raise HTTPException(404, f"no document {doc_id!r}")
    return {"id": doc_id, "type": d.get("type"), "file": d.get("file"), "content_hash": row[0], "mtime_ns": row[1],
            "size": row[2]}


@router.post("/forget", tags=["auth"], status_code=204,
             summary="Make the browser drop this site's cached responses and storage (after a logout or a 401)")
def forget(x_spyglass_forget: str | None = Header(None)) -> Response:
    """No login needed: the web app calls it when a session ends, including one that already expired, so that the
    next user of the browser finds none of the last user's fetched data in its HTTP cache (``Clear-Site-Data``)."""
    if x_spyglass_forget != "1":
        raise HTTPException(400, f"send the header {FORGET_HEADER}: 1")
    return Response(status_code=204, headers={"clear-site-data": '"cache", "storage"', "cache-control": "no-store"})
