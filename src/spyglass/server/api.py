"""The REST API (``/api``). Every read passes the caller's principals into the index query."""

from __future__ import annotations

import contextlib
import json
import mimetypes
import os
from typing import Any, Iterator, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel, Field

from spyglass.app.connectors import list_sources, remote_original
from spyglass.app.spyglass import Filters, apply_filter
from spyglass.core.errors import NotFoundError, SpyglassError
from spyglass.server.auth import COOKIE, Caller, admin, caller
from spyglass.server.autocomplete_order import prefer_titles
from spyglass.server.files import fd_response, open_indexed
from spyglass.server.guards import client_address

router = APIRouter(prefix="/api")

Mode = Literal["keyword", "semantic", "hybrid"]
INLINE_TYPES = {"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp", "audio/mpeg", "audio/wav",
                "audio/x-wav", "audio/ogg", "audio/flac", "audio/mp4", "video/mp4", "video/webm", "text/plain"}


class FastJSON(Response):
    """A JSON response serialised by orjson (the server extra installs it)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        import orjson

        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)


def _state(request: Request):
    return request.app.state.spyglass


# -- sessions ---------------------------------------------------------------------------------------------------
class Login(BaseModel):
    user: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


@router.post("/login", tags=["auth"], summary="Log in (web app); sets an HttpOnly session cookie")
def login(body: Login, request: Request, response: Response) -> dict[str, Any]:
    st = _state(request)
    address = client_address(request.scope)
    st.logins.check(address, body.user)  # 429 while this address or account is in its back-off
    user = st.accounts.check_password(body.user, body.password)
    if user is None:
        st.logins.failed(address, body.user)
        raise HTTPException(401, "wrong user name or password")
    st.logins.succeeded(address, body.user)
    ttl = st.config.server.session_hours * 3600
    sid, csrf = st.accounts.create_session(user.name, ttl)
    response.set_cookie(COOKIE, sid, max_age=int(ttl), httponly=True, samesite="strict",
                        secure=st.config.server.secure_cookies, path="/")
    return {"user": user.as_dict(), "csrf": csrf}


@router.post("/logout", tags=["auth"], summary="End the web session")
def logout(request: Request, response: Response, c: Caller = Depends(caller)) -> dict[str, bool]:
    sid = request.cookies.get(COOKIE)
    if sid:
        _state(request).accounts.end_session(sid)
    response.delete_cookie(COOKIE, path="/")
    return {"ok": True}


@router.get("/me", tags=["auth"], summary="Who the caller is")
def me(c: Caller = Depends(caller)) -> dict[str, Any]:
    return {"user": c.user.as_dict(), "via": c.via, "csrf": c.csrf}


# -- search -----------------------------------------------------------------------------------------------------
def _filters(type_: list[str], folder: list[str], ext: list[str], source: list[str], after: str | None,
             before: str | None, author: str | None, topic: list[str] | None = None) -> Filters:
    f = Filters()
    for name, values in (("type", type_), ("in", folder), ("ext", ext), ("source", source), ("topic", topic or [])):
        for v in values:
            apply_filter(f, name, v)
    for name, value in (("after", after), ("before", before), ("author", author)):
        if value:
            apply_filter(f, name, value)
    return f


def _offset(label: str | None) -> float | None:
    """Seconds from a recording's passage label (``@ 12:31``, ``@ 1:02:05``), for players to start there."""
    if not label or not label.startswith("@ "):
        return None
    try:
        parts = [int(x) for x in label[2:].split(":")]
    except ValueError:
        return None
    secs = 0
    for x in parts:
        secs = secs * 60 + x
    return float(secs)


def _hit(h: Any) -> dict[str, Any]:
    return {"id": h.id, "title": h.title, "path": h.path, "type": h.type, "score": h.score,
            "snippet": h.snippet_html, "snippet_text": h.snippet, "page": h.page, "modified": h.modified,
            "parent_id": h.parent_id, "author": h.extra.get("author"), "size": h.extra.get("size"),
            "label": h.label, "start": _offset(h.label)}


@router.get("/search", tags=["search"], summary="Search what the caller may read", response_class=FastJSON)
def search(
    request: Request,
    q: str = Query(..., min_length=1, max_length=2000, description="Query (docs/query-language.md)",
                   json_schema_extra={"format": "spyglass-query"}),
    limit: int = Query(10, ge=1, le=100),
    offset: int = Query(0, ge=0, le=10000),
    mode: Mode | None = Query(None, description="keyword, semantic or hybrid [default: hybrid once embeddings exist]"),
    type: list[str] = Query([], max_length=20),
    folder: list[str] = Query([], max_length=20),
    ext: list[str] = Query([], max_length=20),
    source: list[str] = Query([], max_length=20),
    after: str | None = Query(None, max_length=10, description="YYYY[-MM[-DD]]"),
    before: str | None = Query(None, max_length=10, description="YYYY[-MM[-DD]]"),
    author: str | None = Query(None, max_length=200),
    topic: list[str] = Query([], max_length=20, description="Topic numbers (spyglass topics)"),
    facets: bool = Query(False, description="Also count matches by type, source, year, folder and topic"),
    c: Caller = Depends(caller),
) -> FastJSON:
    st = _state(request)
    f = _filters(type, folder, ext, source, after, before, author, topic)
    with st.pool.reader() as sg:
        res = sg.search(q, limit=limit, offset=offset, filters=f, principals=c.principals, mode=mode,
                        log_user=c.user.name)
        out: dict[str, Any] = {"query": q, "mode": res.mode, "total": res.total, "took_ms": round(res.took_ms, 2),
                               "fuzzy": sorted(res.corrected), "search_id": res.search_id,
               "results": [_hit(h) for h in res.hits], "related": [_hit(h) for h in res.related]}
        if facets:
            out["facets"] = {k: [{"value": v, "count": n} for v, n in rows]
                             for k, rows in sg.facets(q, f, c.principals).items()}
    return FastJSON(out)  # serialised once, by orjson (no jsonable_encoder pass over the hits)


@router.get("/autocomplete", tags=["search"], summary="Titles of readable documents matching what is typed")
def autocomplete(request: Request, q: str = Query(..., min_length=1, max_length=200),
                 limit: int = Query(8, ge=1, le=20), c: Caller = Depends(caller)) -> dict[str, Any]:
    with _state(request).pool.reader() as sg:
        found = sg.autocomplete(q, c.principals, min(3 * limit, 60))  # room to put titles before hash-named files
    return {"query": q, "suggestions": prefer_titles(found)[:limit]}


# -- documents --------------------------------------------------------------------------------------------------
def _check_id(doc_id: str) -> None:
    if not (len(doc_id) == 16 and all(ch in "0123456789abcdef" for ch in doc_id)):
        raise NotFoundError(f"no document {doc_id!r}")


def _document(request: Request, doc_id: str, c: Caller, passages: int = 50) -> dict[str, Any]:
    _check_id(doc_id)
    with _state(request).pool.reader() as sg:
        return sg.document(doc_id, c.principals, passages)


@router.get("/documents/{doc_id}", tags=["documents"], summary="A document's metadata and text (preview)")
def document(doc_id: str, request: Request, passages: int = Query(50, ge=0, le=500),
             c: Caller = Depends(caller)) -> dict[str, Any]:
    from spyglass.app.download import WITHHELD, whole_readable

    d = _document(request, doc_id, c, passages)
    d.pop("file", None)  # the server's file path is not the caller's business
    with _state(request).pool.reader() as sg:
        whole = whole_readable(sg, doc_id, c.principals)
    d["downloadable"] = bool(d.get("parent_id") is None and whole)
    if not whole:  # a container holding items the caller may not read: no preview of the whole
        d["passages"], d["withheld"] = [], WITHHELD
    return d


@router.get("/documents/{doc_id}/file", tags=["documents"], summary="The original file (download or inline view)",
            response_class=FileResponse)
def document_file(doc_id: str, request: Request, c: Caller = Depends(caller)) -> Response:
    from spyglass.app.download import file_record

    _check_id(doc_id)
    with _state(request).pool.reader() as sg:
        got = remote_original(sg, doc_id, c.principals)  # a connector's item (WebDAV): fetched again, as indexed
        rec = file_record(sg, doc_id, c.principals) if got is None else None
    if got is not None:
        return _remote_file(*got)
    fd, st = open_indexed(rec["path_raw"], rec, c.principals)  # no symlink followed; still the indexed file
    name = rec["name"]
    mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
    inline = mime in INLINE_TYPES
    return fd_response(
        fd, st, media_type=mime if inline else "application/octet-stream",
        filename=name, content_disposition_type="inline" if inline else "attachment",
        # The file is the user's content, never a page of this site: no scripts, no same-origin access. PDFs are
        # shown by the browser's own viewer, which a sandboxed document may not use; they cannot run our scripts.
        headers={"content-security-policy": "frame-ancestors 'self'" if mime == "application/pdf"
                 else "sandbox; default-src 'none'; img-src 'self'; media-src 'self'; frame-ancestors 'self'",
                 "x-content-type-options": "nosniff", "cache-control": "private, no-store"},
    )


def _remote_file(body: bytes, name: str) -> Response:
    """A connector item's bytes with the same headers as a local file (never run as a page of this site)."""
    mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
    inline = mime in INLINE_TYPES
    return Response(body, media_type=mime if inline else "application/octet-stream", headers={
        "content-disposition": f"{'inline' if inline else 'attachment'}; filename*=utf-8''{quote(name, safe='')}",
        "content-security-policy": "frame-ancestors 'self'" if mime == "application/pdf"
        else "sandbox; default-src 'none'; img-src 'self'; media-src 'self'; frame-ancestors 'self'",
        "x-content-type-options": "nosniff"})


# -- index administration ---------------------------------------------------------------------------------------
@router.get("/status", tags=["index"], summary="Index status (admins see sources and errors)")
def status(request: Request, c: Caller = Depends(caller)) -> dict[str, Any]:
    from spyglass.app.status import collect_member_status

    with _state(request).pool.reader() as sg:
        if c.user.is_admin:
            return sg.status()
        return collect_member_status(sg.reader(), c.principals)  # counts over what the caller may read only


@router.get("/sources", tags=["index"], summary="Indexed sources")
def sources(request: Request, c: Caller = Depends(admin)) -> dict[str, Any]:
    with _state(request).pool.reader() as sg:  # connectors also with state, last sync and last error
        return {"sources": list_sources(sg)}


class SourceIn(BaseModel):
    path: str = Field(min_length=1, max_length=4096)


@router.post("/sources", tags=["index"], status_code=202, summary="Add a folder or export and index it (a job)")
def add_source(body: SourceIn, request: Request, c: Caller = Depends(admin)) -> dict[str, Any]:
    path = os.path.abspath(os.path.expanduser(body.path))
    if "\x00" in path or not os.path.exists(path):
        raise SpyglassError(f"{body.path} does not exist on the server")
    return _state(request).start_job("index", lambda sg: sg.index([path], wait=False).as_dict())


@router.delete("/sources/{source_id}", tags=["index"], status_code=202, summary="Remove a source (a job)")
def remove_source(source_id: int, request: Request, c: Caller = Depends(admin)) -> dict[str, Any]:
    st = _state(request)
    with st.pool.reader() as sg:
        src = next((s for s in sg.sources() if s.id == source_id), None)
    if src is None:
        raise NotFoundError(f"no source {source_id} (GET /api/sources lists them)")
    return st.start_job("remove-source", lambda sg: {"removed": sg.remove_source(src.root)})


@router.post("/reindex", tags=["index"], status_code=202, summary="Re-index every source (a job)")
def reindex(request: Request, c: Caller = Depends(admin)) -> dict[str, Any]:
    return _state(request).start_job("index", lambda sg: sg.index(wait=False).as_dict())


@router.get("/jobs/{job_id}", tags=["index"], summary="A background job's state")
def job(job_id: str, request: Request, c: Caller = Depends(admin)) -> dict[str, Any]:
    j = _state(request).jobs.get(job_id)
    if j is None:
        raise NotFoundError(f"no job {job_id!r}")
    return j


# -- users and tokens -------------------------------------------------------------------------------------------
class UserIn(BaseModel):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")
    role: Literal["admin", "member"] = "member"
    password: str | None = Field(None, min_length=8, max_length=1024)
    groups: list[str] = Field(default_factory=list, max_length=100)
    emails: list[str] = Field(default_factory=list, max_length=100)


@router.get("/users", tags=["users"], summary="Users (admins)")
def users(request: Request, c: Caller = Depends(admin)) -> dict[str, Any]:
    return {"users": [u.as_dict() for u in _state(request).accounts.users()]}


@router.post("/users", tags=["users"], status_code=201, summary="Add a user (admins)")
def add_user(body: UserIn, request: Request, c: Caller = Depends(admin)) -> dict[str, Any]:
    return _state(request).accounts.add_user(body.name, body.role, body.password, body.groups, body.emails).as_dict()


@router.delete("/users/{name}", tags=["users"], summary="Remove a user, their tokens and sessions (admins)")
def remove_user(name: str, request: Request, c: Caller = Depends(admin)) -> dict[str, bool]:
    if name == c.user.name:
        raise SpyglassError("you cannot remove yourself: another admin can")
    if not _state(request).accounts.remove_user(name):
        raise NotFoundError(f"no user {name!r}")
    return {"removed": True}


class TokenIn(BaseModel):
    label: str = Field("", max_length=100)


@router.get("/tokens", tags=["users"], summary="The caller's API tokens")
def tokens(request: Request, c: Caller = Depends(caller)) -> dict[str, Any]:
    return {"tokens": _state(request).accounts.tokens(c.user.name)}


@router.post("/tokens", tags=["users"], status_code=201, summary="Create an API token (shown once)")
def create_token(body: TokenIn, request: Request, c: Caller = Depends(caller)) -> dict[str, str]:
    return {"token": _state(request).accounts.create_token(c.user.name, body.label)}


@router.delete("/tokens/{token_id}", tags=["users"], summary="Revoke one of the caller's tokens")
def revoke_token(token_id: str, request: Request, c: Caller = Depends(caller)) -> dict[str, bool]:
    if not _state(request).accounts.revoke_token(token_id, c.user.name):
        raise NotFoundError(f"no token {token_id!r}")
    return {"revoked": True}


# -- ask ---------------------------------------------------------------------------------------------------------
@router.get("/ask", tags=["ask"], summary="Answer a question from the caller's files, with checked citations")
def ask(request: Request, q: str = Query(..., min_length=1, max_length=2000),
        c: Caller = Depends(caller)) -> dict[str, Any]:
    with _state(request).pool.reader() as sg:
        return sg.ask(q, principals=c.principals)


@router.get("/ask/stream", tags=["ask"], summary="The same answer as server-sent events (sources, tokens, answer)",
            response_class=StreamingResponse)
def ask_stream(request: Request, q: str = Query(..., min_length=1, max_length=2000),
               c: Caller = Depends(caller)) -> StreamingResponse:
    st = _state(request)

    def events():
        with st.pool.reader() as sg:
            try:
                for e in sg.ask(q, principals=c.principals, stream=True):
                    yield f"event: {e['type']}\ndata: {json.dumps(e)}\n\n"
            except SpyglassError as exc:
                yield f"event: error\ndata: {json.dumps({'detail': str(exc)})}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream", headers={"cache-control": "no-store"})


@router.get("/summarize/{doc_id}", tags=["ask"], summary="Summarize a readable document (in parts, then combined)")
def summarize(doc_id: str, request: Request, sentences: int = Query(5, ge=1, le=30),
              c: Caller = Depends(caller)) -> dict[str, Any]:
    from spyglass.app.ask import summarize_item
    from spyglass.app.download import require_whole

    _check_id(doc_id)
    with _state(request).pool.reader() as sg:
        require_whole(sg, doc_id, c.principals)  # a mailbox holding others' messages is not summarized whole
        # this document only (a message, not its mailbox); stops at the request's deadline
        return summarize_item(sg, doc_id, c.principals, n_sentences=sentences)


class EventIn(BaseModel):
    kind: Literal["click", "open", "dwell"]
    doc_id: str = Field(pattern=r"^[0-9a-f]{16}$")
    search_id: int | None = Field(None, ge=1)
    position: int | None = Field(None, ge=1, le=10_000)
    dwell_s: float | None = Field(None, ge=0, le=86_400)


@router.post("/activity", tags=["discover"], status_code=201,
             summary="Record a click, open or dwell time on a readable document (learning from use)")
def activity(body: EventIn, request: Request, c: Caller = Depends(caller)) -> dict[str, Any]:
    from spyglass.app.learning import record_event

    with _state(request).pool.reader() as sg:
        return {"id": record_event(sg, c.user.name, body.kind, body.doc_id, c.principals, body.search_id,
                                   body.position, body.dwell_s)}


@router.get("/related/{doc_id}", tags=["discover"],
            summary="Files related to a readable document: similar content, opened by the same people")
def related(doc_id: str, request: Request, limit: int = Query(10, ge=1, le=100),
            c: Caller = Depends(caller)) -> dict[str, Any]:
    from spyglass.app.learning import related as related_

    _document(request, doc_id, c, 0)
    with _state(request).pool.reader() as sg:
        return related_(sg, doc_id, c.principals, limit)


@router.get("/suggest", tags=["discover"], summary="Files the caller is likely to open next")
def suggest(request: Request, limit: int = Query(10, ge=1, le=100), c: Caller = Depends(caller)) -> dict[str, Any]:
    from spyglass.app.learning import suggest as suggest_

    with _state(request).pool.reader() as sg:
        return {"suggestions": suggest_(sg, c.user.name, c.principals, limit)}


# -- organize ---------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _organizer(request: Request) -> Iterator[Any]:
    from spyglass.app.organize import Organizer

    with _state(request).pool.reader() as sg:
        org = Organizer(sg)
        try:
            yield org
        finally:
            org.close()


@router.get("/duplicates", tags=["organize"], summary="Duplicate files among the caller's readable files")
def duplicates(request: Request, near: bool = Query(True, description="Also near-duplicates and look-alike images"),
               c: Caller = Depends(caller)) -> dict[str, Any]:
    with _organizer(request) as org:
        return {"groups": org.duplicates(c.principals, near=org.sg.config.organize.near_duplicate if near else None,
                                         images=near)}


@router.get("/topics", tags=["organize"], summary="Topics, sized and labelled from the caller's readable files")
def topics(request: Request, c: Caller = Depends(caller)) -> dict[str, Any]:
    with _organizer(request) as org:
        return {"built": org.store.topics_built(), "topics": org.topics(c.principals)}


@router.post("/topics/rebuild", tags=["organize"], summary="Cluster the collection into topics again (admins)")
def rebuild_topics(request: Request, k: int | None = Query(None, ge=2, le=500),
                   c: Caller = Depends(admin)) -> dict[str, Any]:
    with _organizer(request) as org:
        return org.build_topics(k)


class PlanIn(BaseModel):
    tags: bool = True


class ReviewIn(BaseModel):
    keep: list[int] = Field(max_length=100_000, description="Numbers of the plan's actions to apply")


@router.post("/organize/plans", tags=["organize"], status_code=202,
             summary="Start making an organize plan over the caller's readable files, kept for review (admins; a job)")
def make_plan(body: PlanIn, request: Request, c: Caller = Depends(admin)) -> dict[str, Any]:
    """A plan over a large collection takes minutes: it is a job (poll ``/api/jobs/{id}``; its result names the
    plan), so no request waits on it and none ends in a 504."""
    from spyglass.app.organize import Organizer

    owner, principals, tags = c.user.name, c.principals, body.tags

    def run(sg: Any) -> dict[str, Any]:
        org = Organizer(sg)
        try:
            plan = org.save_plan(owner, principals, tags=tags)
        finally:
            org.close()
        return {"plan_id": plan["id"], "actions": len(plan["actions"])}

    return _state(request).start_job("organize-plan", run)


@router.get("/organize/plans", tags=["organize"], summary="Kept organize plans (admins)")
def list_plans(request: Request, c: Caller = Depends(admin)) -> dict[str, Any]:
    with _organizer(request) as org:
        return {"plans": org.plans()}


@router.get("/organize/plans/{plan_id}", tags=["organize"], summary="One kept plan with its actions (admins)")
def get_plan(plan_id: str, request: Request, c: Caller = Depends(admin)) -> dict[str, Any]:
    with _organizer(request) as org:
        return org.plan_view(plan_id)


@router.post("/organize/plans/{plan_id}/apply", tags=["organize"],
             summary="Apply the reviewed actions of a kept plan, journalled (admins)")
def apply_plan(plan_id: str, body: ReviewIn, request: Request, c: Caller = Depends(admin)) -> dict[str, Any]:
    with _organizer(request) as org:
        return org.apply_reviewed(plan_id, body.keep, c.principals)


@router.post("/organize/plans/{plan_id}/undo", tags=["organize"], summary="Revert what a plan did (admins)")
def undo_plan(plan_id: str, request: Request, c: Caller = Depends(admin)) -> dict[str, Any]:
    with _organizer(request) as org:
        org._plan_file(plan_id)  # NotFoundError for an unknown plan id
        return org.undo(plan_id, c.principals)


class TagIn(BaseModel):
    tag: str = Field(min_length=1, max_length=64)
    origin: Literal["user", "accepted", "rejected"] = "user"


@router.get("/documents/{doc_id}/tags", tags=["organize"], summary="A readable document's tags")
def doc_tags(doc_id: str, request: Request, c: Caller = Depends(caller)) -> dict[str, Any]:
    _document(request, doc_id, c, 0)
    with _organizer(request) as org:
        return {"tags": org.tags(c.principals, doc_id)}


@router.post("/documents/{doc_id}/tags", tags=["organize"], status_code=201,
             summary="Tag a readable document, or accept or reject a suggested tag")
def add_doc_tag(doc_id: str, body: TagIn, request: Request, c: Caller = Depends(caller)) -> dict[str, Any]:
    _document(request, doc_id, c, 0)
    with _organizer(request) as org:
        org.add_tag(doc_id, body.tag, c.principals, body.origin, by=_tag_user(c))
        return {"tags": org.tags(c.principals, doc_id)}


@router.delete("/documents/{doc_id}/tags/{tag}", tags=["organize"], summary="Remove a tag from a readable document")
def remove_doc_tag(doc_id: str, tag: str, request: Request, c: Caller = Depends(caller)) -> dict[str, Any]:
    _document(request, doc_id, c, 0)
    with _organizer(request) as org:
        removed = org.remove_tag(doc_id, tag, c.principals, by=_tag_user(c))  # its author or an admin only
    if not removed:
        raise NotFoundError(f"no tag {tag!r} on this document")
    return {"removed": True}


def _tag_user(c: Caller) -> str | None:
    """Who sets or removes a tag: an admin may change any tag (None), a member only their own."""
    return None if c.user.is_admin else c.user.name


@router.get("/documents/{doc_id}/tag-suggestions", tags=["organize"],
            summary="Suggested tags for a readable document (learned only from readable files)")
def doc_tag_suggestions(doc_id: str, request: Request, c: Caller = Depends(caller)) -> dict[str, Any]:
    _document(request, doc_id, c, 0)
    with _organizer(request) as org:
        return {"suggestions": org.suggest_tags(doc_id, c.principals)}


@router.get("/documents/{doc_id}/similar", tags=["organize"],
            summary="Look-alike images of a readable image, among the caller's readable images")
def doc_similar(doc_id: str, request: Request, limit: int = Query(10, ge=1, le=200),
                by: Literal["hash", "content"] = Query("hash", description="hash (no model) or content (the "
                                                                           "text-image model's vectors)"),
                c: Caller = Depends(caller)) -> dict[str, Any]:
    _document(request, doc_id, c, 0)
    with _organizer(request) as org:
        return org.similar(doc_id, c.principals, limit, by=by)


@router.get("/documents/{doc_id}/where", tags=["organize"],
            summary="The folders a readable document fits best (from readable files only)")
def doc_where(doc_id: str, request: Request, c: Caller = Depends(caller)) -> dict[str, Any]:
    _document(request, doc_id, c, 0)
    with _organizer(request) as org:
        return org.where(doc_id, c.principals)
