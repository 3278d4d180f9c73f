"""Progress reporting for long work. The CLI passes a rich progress bar; library callers get silence."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def start(self, description: str, total: int | None) -> None: ...

    def advance(self, n: int = 1, detail: str | None = None) -> None: ...

    def stop(self) -> None: ...


class NullProgress:
    def start(self, description: str, total: int | None) -> None:
        pass

    def advance(self, n: int = 1, detail: str | None = None) -> None:
        pass

    def stop(self) -> None:
        pass
