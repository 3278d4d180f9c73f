"""Request guards: body-size limit, per-caller rate limit, request timeout and security headers (pure ASGI
middleware, so streaming responses are not buffered)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from spyglass.core import deadline

Scope = dict[str, Any]


async def _send_json(send: Any, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]] = ()) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": data})


class TokenBucket:
    """``rate`` requests per second with bursts of ``burst``, per key (token, session or client address)."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self._state: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 when allowed, else the seconds to wait."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._state.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._state[key] = (tokens - 1, now)
                if len(self._state) > 100_000:  # forget idle callers
                    self._state = {k: v for k, v in self._state.items() if now - v[1] < 60}
                return 0.0
            self._state[key] = (tokens, now)
            return (1 - tokens) / self.rate


class Guards:
    """ASGI middleware: rejects bodies over ``max_body`` bytes (413), callers over their rate (429), and requests
    that run past ``timeout_s`` (504); adds security headers to every response."""

    HEADERS = [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"SAMEORIGIN"),  # the preview pane frames PDFs from this site
        (b"referrer-policy", b"no-referrer"),
        (b"content-security-policy",
         b"default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; "
         b"script-src 'self'; frame-src 'self'; frame-ancestors 'self'; object-src 'none'; base-uri 'none'; "
         b"form-action 'self'"),
    ]

    def __init__(self, app: Any, max_body: int, bucket: TokenBucket, timeout_s: float,
                 known: Callable[[str], bool] = lambda key: False) -> None:
        """``known(key)``: whether a credential (``t:TOKEN`` or ``s:SESSION``) belongs to a caller authenticated
        recently. Only those get a bucket of their own; every other request (no credential, a bogus or revoked one)
        shares its client address's bucket, so a fresh random token buys no fresh rate."""
        self.app, self.max_body, self.bucket, self.timeout_s, self.known = app, max_body, bucket, timeout_s, known

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await _send_json(send, 413, {"detail": f"request body over {self.max_body} bytes"})
            return
        wait = self.bucket.take(_caller_key(scope, headers, self.known))
        if wait:
            await _send_json(send, 429, {"detail": "too many requests"},
                             [(b"retry-after", str(max(1, int(wait + 0.999))).encode())])
            return
        received = 0

        async def limited_receive() -> dict[str, Any]:
            nonlocal received
            msg = await receive()
            if msg["type"] == "http.request":
                received += len(msg.get("body", b""))
                if received > self.max_body:
                    raise _TooLarge()
            return msg

        async def send_with_headers(msg: dict[str, Any]) -> None:
            if msg["type"] == "http.response.start":
                own = {k.lower() for k, _ in msg.get("headers", [])}  # a route's own policy (file responses) wins
                msg = {**msg, "headers": [*msg.get("headers", []), *(h for h in self.HEADERS if h[0] not in own)]}
            await send(msg)

        stream = _is_stream(scope)
        # the work's deadline: checked by long loops in worker threads, cancelled when the request ends any way
        with deadline.scope(self.timeout_s * (10 if stream else 1)) as limit:
            try:
                await self._run(scope, limited_receive, send_with_headers, stream)
            finally:
                limit.cancel()

    async def _run(self, scope: Scope, receive: Any, send: Any, stream: bool) -> None:
        started = False

        async def tracking_send(msg: dict[str, Any]) -> None:
            nonlocal started
            started = started or msg["type"] == "http.response.start"
            await send(msg)

        try:
            if stream:
                await self.app(scope, receive, tracking_send)
            else:
                await asyncio.wait_for(self.app(scope, receive, tracking_send), self.timeout_s)
        except _TooLarge:
            if not started:
                await _send_json(send, 413, {"detail": f"request body over {self.max_body} bytes"})
        except asyncio.TimeoutError:
            if not started:
                await _send_json(send, 504, {"detail": f"the request took over {self.timeout_s:g} s"})


class _TooLarge(Exception):
    pass


def _is_stream(scope: Scope) -> bool:
    path = scope.get("path", "")
    return path.startswith("/mcp") or path.endswith("/stream")


def _caller_key(scope: Scope, headers: dict[bytes, bytes], known: Callable[[str], bool]) -> str:
    scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    if scheme.lower() == "bearer" and known("t:" + token.strip()):
        return "t:" + token.strip()
    for part in headers.get(b"cookie", b"").split(b";"):
        k, _, v = part.strip().partition(b"=")
        if k == b"spyglass_session" and v and known("s:" + v.decode("latin-1")):
            return "s:" + v.decode("latin-1")
    return "a:" + client_address(scope)


def client_address(scope: Scope) -> str:
    client = scope.get("client") or ("?", 0)
    return str(client[0])
