"""Who is calling: an API token (``Authorization: Bearer sg_...``) or a web session cookie. Cookie callers must send
the session's CSRF token in ``X-CSRF-Token`` on every request that changes something.

A resolved caller (user and principals) is cached per credential for ``CACHE_S`` seconds, and the whole cache is
dropped when the accounts change (any process: SQLite's ``data_version``) — so a request costs no database read and no
group lookup, and a removed user, revoked token, ended session or changed group takes effect on the next request.
A caller always has a non-empty principal list (never None: the server never asks for "sees everything").
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request

from spyglass.app.accounts import User

COOKIE = "spyglass_session"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
CACHE_S = 60.0


@dataclass(slots=True)
class Caller:
    user: User
    principals: list[str]
    via: str  # token | session
    csrf: str | None = None


class CallerCache:
    """Credential -> resolved caller, valid while the accounts database is unchanged and for at most ``ttl_s``."""

    def __init__(self, ttl_s: float = CACHE_S, size: int = 10_000) -> None:
        self.ttl_s, self.size = ttl_s, size
        self._entries: dict[str, tuple[float, float, Caller]] = {}  # key -> (cached at, valid until, caller)
        self._version: object = None
        self._lock = threading.Lock()

    def get(self, key: str, version: object) -> Caller | None:
        now = time.monotonic()
        with self._lock:
            if version != self._version:
                self._entries.clear()
                self._version = version
                return None
            e = self._entries.get(key)
        if e is None or now - e[0] > self.ttl_s or time.time() > e[1]:
            return None
        return e[2]

    def put(self, key: str, version: object, caller: Caller, valid_until: float = float("inf")) -> None:
        with self._lock:
            if version != self._version:
                self._entries.clear()
                self._version = version
            if len(self._entries) >= self.size:
                self._entries.clear()
            self._entries[key] = (time.monotonic(), valid_until, caller)

    def known(self, key: str) -> bool:
        """Whether ``key`` resolved to a caller recently (the guards use it to pick a rate-limit bucket)."""
        e = self._entries.get(key)
        return e is not None and time.monotonic() - e[0] <= self.ttl_s


def _principals(state, user: User) -> list[str]:
    principals = [p for p in state.principals(user.name) if p]
    if not principals:  # fail closed: an empty list must never turn into "no restriction" further down
        raise HTTPException(403, f"user {user.name!r} has no principals: ask an admin to check the account")
    return principals


def resolve_token(state, token: str) -> Caller | None:
    version = state.accounts.version()
    c = state.callers.get("t:" + token, version)
    if c is not None:
        return c
    user = state.accounts.user_for_token(token)
    if user is None:
        return None
    c = Caller(user, _principals(state, user), "token")
    state.callers.put("t:" + token, version, c)
    return c


def resolve_session(state, sid: str) -> Caller | None:
    version = state.accounts.version()
    c = state.callers.get("s:" + sid, version)
    if c is not None:
        return c
    found = state.accounts.session_with_expiry(sid)
    if found is None:
        return None
    user, csrf, expires = found
    c = Caller(user, _principals(state, user), "session", csrf)
    state.callers.put("s:" + sid, version, c, expires)
    return c


def authenticate(request: Request) -> Caller:
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
        c = resolve_session(state, sid)
        if c is not None:
            if request.method in UNSAFE and request.headers.get("x-csrf-token") != c.csrf:
                raise HTTPException(403, "missing or wrong X-CSRF-Token header")
            return c
    raise HTTPException(401, "log in or send an API token (Authorization: Bearer ...)",
                        headers={"WWW-Authenticate": "Bearer"})


async def caller(request: Request) -> AsyncIterator[Caller]:
    """The authenticated caller, holding one of the user's request slots while the request runs."""
    from spyglass.core import deadline

    c = authenticate(request)
    state = request.app.state.spyglass
    d = deadline.current()
    async with state.slots.hold(c.user.name, d.remaining() if d is not None else state.config.server.timeout_s):
        yield c


def admin(c: Caller = Depends(caller)) -> Caller:
    if not c.user.is_admin:
        raise HTTPException(403, "admins only")
    return c
