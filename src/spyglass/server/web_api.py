"""Endpoints the web app needs beyond the REST API: forgetting the last user's page state (``/api/forget``)."""

from __future__ import annotations

from fastapi import APIRouter, Header, HTTPException, Response

router = APIRouter(prefix="/api")

# The header the web app sends with /api/forget: a cross-site page cannot add it without a CORS preflight, which this
# server never grants, so no other site can make a visitor's browser drop this site's data.
FORGET_HEADER = "x-spyglass-forget"


@router.post("/forget", tags=["auth"], status_code=204,
             summary="Make the browser drop this site's cached responses and storage (after a logout or a 401)")
def forget(x_spyglass_forget: str | None = Header(None)) -> Response:
    """No login needed: the web app calls it when a session ends, including one that already expired, so that the
    next user of the browser finds none of the last user's fetched data in its HTTP cache (``Clear-Site-Data``)."""
    if x_spyglass_forget != "1":
        raise HTTPException(400, f"send the header {FORGET_HEADER}: 1")
    return Response(status_code=204, headers={"clear-site-data": '"cache", "storage"', "cache-control": "no-store"})
