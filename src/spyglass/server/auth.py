"""Who is calling: an API token (``Authorization: Bearer sg_...``) or a web session cookie. Cookie callers must send
the session's CSRF token in ``X-CSRF-Token`` on every request that changes something."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request

from spyglass.app.accounts import User

COOKIE = "spyglass_session"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass(slots=True)
class Caller:
    user: User
    principals: list[str]
    via: str  # token | session
    csrf: str | None = None


def resolve_token(state, token: str) -> Caller | None:
    user = state.accounts.user_for_token(token)
    if user is None:
        return None
    return Caller(user, state.principals(user.name), "token")


def caller(request: Request) -> Caller:
    """The authenticated caller, or 401."""
    state = request.app.state.spyglass
    auth = request.headers.get("authorization", "")
    if auth:
        scheme, _, token = auth.partition(" ")
        c = resolve_token(state, token.strip()) if scheme.lower() == "bearer" else None
        if c is None:
            raise HTTPException(401, "invalid or revoked API token", headers={"WWW-Authenticate": "Bearer"})
        return c
    sid = request.cookies.get(COOKIE)
    if sid:
        found = state.accounts.session(sid)
        if found is not None:
            user, csrf = found
            if request.method in UNSAFE and request.headers.get("x-csrf-token") != csrf:
                raise HTTPException(403, "missing or wrong X-CSRF-Token header")
            return Caller(user, state.principals(user.name), "session", csrf)
    raise HTTPException(401, "log in or send an API token (Authorization: Bearer ...)",
                        headers={"WWW-Authenticate": "Bearer"})


def admin(c: Caller = Depends(caller)) -> Caller:
    if not c.user.is_admin:
        raise HTTPException(403, "admins only")
    return c
