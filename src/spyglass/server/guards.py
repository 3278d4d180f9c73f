"""Request guards: body-size limit, per-caller rate limit, request timeout and security headers (pure ASGI
middleware, so streaming responses are not buffered)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

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

    def __init__(self, app: Any, max_body: int, bucket: TokenBucket, timeout_s: float) -> None:
        self.app, self.max_body, self.bucket, self.timeout_s = app, max_body, bucket, timeout_s

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await _send_json(send, 413, {"detail": f"request body over {self.max_body} bytes"})
            return
        wait = self.bucket.take(_caller_key(scope, headers))
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

        started = False

        async def send_with_headers(msg: dict[str, Any]) -> None:
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
                own = {k.lower() for k, _ in msg.get("headers", [])}  # a route's own policy (file responses) wins
                msg = {**msg, "headers": [*msg.get("headers", []), *(h for h in self.HEADERS if h[0] not in own)]}
            await send(msg)

        try:
            if _is_stream(scope):
                await self.app(scope, limited_receive, send_with_headers)
            else:
                await asyncio.wait_for(self.app(scope, limited_receive, send_with_headers), self.timeout_s)
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


def _caller_key(scope: Scope, headers: dict[bytes, bytes]) -> str:
    auth = headers.get(b"authorization", b"")
    if auth:
        return "t:" + auth[-16:].decode("latin-1")
    for part in headers.get(b"cookie", b"").split(b";"):
        k, _, v = part.strip().partition(b"=")
        if k == b"spyglass_session" and v:
            return "s:" + v[-16:].decode("latin-1")
    client = scope.get("client") or ("?", 0)
    return "a:" + str(client[0])
