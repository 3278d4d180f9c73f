"""Limits against abuse that the request guards cannot see: failed logins, and how much one user runs at once.

Failed logins (issue 13.7) are counted per client address and per account name. After ``free`` failures the next
attempt must wait a back-off that doubles with every further failure,

    wait(n) = min(base_s · 2^(n − free), max_s)        n = failures so far, n > free

and an attempt inside the wait gets 429 without the password being checked (so guessing costs the attacker time,
not the server CPU). A success clears the account's and the address's count; counts fade after ``forget_s``.

Per-user concurrency (issue 13.8): each user may have ``cap`` requests running; more wait (in the event loop, not in
a thread) until one ends or the request's deadline passes (429), so one caller cannot hold every read handle.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator

from spyglass.core.errors import BusyError


class LoginThrottle:
    def __init__(self, free: int = 5, base_s: float = 1.0, max_s: float = 900.0, forget_s: float = 3600.0) -> None:
        self.free, self.base_s, self.max_s, self.forget_s = free, base_s, max_s, forget_s
        self._fails: dict[str, tuple[int, float]] = {}  # key -> (failures, time of the last)
        self._lock = threading.Lock()

    def _wait(self, key: str, now: float) -> float:
        n, last = self._fails.get(key, (0, now))
        if n <= self.free or now - last > self.forget_s:
            return 0.0
        return max(0.0, last + min(self.base_s * 2 ** (n - self.free - 1), self.max_s) - now)

    def check(self, address: str, account: str) -> None:
        """Raise :class:`BusyError` while either key is in its back-off."""
        now = time.monotonic()
        with self._lock:
            wait = max(self._wait("a:" + address, now), self._wait("u:" + account, now))
        if wait > 0:
            raise BusyError(f"too many failed logins: try again in {int(wait + 0.999)} s", wait)

    def failed(self, address: str, account: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in ("a:" + address, "u:" + account):
                n, last = self._fails.get(key, (0, now))
                self._fails[key] = (1 if now - last > self.forget_s else n + 1, now)
            if len(self._fails) > 100_000:  # forget old entries rather than grow without bound
                self._fails = {k: v for k, v in self._fails.items() if now - v[1] < self.forget_s}

    def succeeded(self, address: str, account: str) -> None:
        with self._lock:
            self._fails.pop("a:" + address, None)
            self._fails.pop("u:" + account, None)


class UserSlots:
    """At most ``cap`` requests running per user (per server process)."""

    def __init__(self, cap: int) -> None:
        self.cap = max(1, cap)
        self._sems: dict[str, asyncio.Semaphore] = {}

    @contextlib.asynccontextmanager
    async def hold(self, user: str, timeout_s: float) -> AsyncIterator[None]:
        sem = self._sems.get(user)
        if sem is None:
            sem = self._sems[user] = asyncio.Semaphore(self.cap)
        try:
            await asyncio.wait_for(sem.acquire(), max(0.0, timeout_s))
        except TimeoutError:
            raise BusyError(f"you have {self.cap} requests running: wait for one to finish", 1.0) from None
        try:
            yield
        finally:
            sem.release()
