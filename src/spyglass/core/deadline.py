"""Deadlines for long work (summaries, answers, organize passes): a request's time limit stops its work, not only
its response. A :class:`Deadline` is passed down explicitly, or set for the current context (a server request) with
:func:`scope` and found by :func:`current`; long loops call ``check()`` between steps, which raises
:class:`~spyglass.core.errors.DeadlineError` once the time is up."""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Iterator

from spyglass.core.errors import DeadlineError

_CURRENT: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar("spyglass_deadline", default=None)


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def cancel(self) -> None:
        """The request ended (answered, timed out, or the client left): stop its work at the next check."""
        self.at = float("-inf")

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def expired(self) -> bool:
        return self.remaining() <= 0

    def check(self) -> None:
        if self.expired():
            raise DeadlineError(f"stopped after {self.seconds:g} s (the time limit): ask for less, or raise "
                                "[server] timeout_s")


def current() -> Deadline | None:
    """The deadline of the work running in this context (None: no limit)."""
    return _CURRENT.get()


def check(deadline: Deadline | None = None) -> None:
    """Raise :class:`DeadlineError` when ``deadline`` (default: the current one) has passed."""
    d = deadline or _CURRENT.get()
    if d is not None:
        d.check()


@contextlib.contextmanager
def scope(seconds: float) -> Iterator[Deadline]:
    d = Deadline(seconds)
    token = _CURRENT.set(d)
    try:
        yield d
    finally:
        _CURRENT.reset(token)
