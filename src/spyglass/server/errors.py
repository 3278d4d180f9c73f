"""The one place where typed errors become HTTP statuses. Endpoints raise :mod:`spyglass.core.errors` types (or let
the app raise them) and never map errors themselves; each error kind has exactly one status.

| error                      | status |
|----------------------------|--------|
| NotFoundError (and FileChangedError) | 404 (an unknown and a forbidden id read the same) |
| ForbiddenError             | 403    |
| ConflictError              | 409    |
| BusyError                  | 429 (with Retry-After) |
| DeadlineError              | 504    |
| IndexLockedError           | 503 (with Retry-After) |
| MissingExtraError          | 501    |
| QuerySyntaxError, ConfigError and every other SpyglassError | 400 |
"""

from __future__ import annotations

from typing import Any

from spyglass.core.errors import (
    BusyError,
    ConflictError,
    DeadlineError,
    ForbiddenError,
    IndexLockedError,
    MissingExtraError,
    NotFoundError,
    SpyglassError,
)

STATUS: tuple[tuple[type[SpyglassError], int], ...] = (
    (NotFoundError, 404),
    (ForbiddenError, 403),
    (ConflictError, 409),
    (BusyError, 429),
    (DeadlineError, 504),
    (IndexLockedError, 503),
    (MissingExtraError, 501),
    (SpyglassError, 400),
)


def status_of(exc: SpyglassError) -> int:
    return next(code for kind, code in STATUS if isinstance(exc, kind))


def headers_of(exc: SpyglassError) -> dict[str, str]:
    if isinstance(exc, BusyError):
        return {"retry-after": str(max(1, int(exc.retry_after + 0.999)))}
    if isinstance(exc, IndexLockedError):
        return {"retry-after": "5"}
    return {}


def install(app: Any) -> None:
    """Register the single handler on a FastAPI app."""
    from fastapi import Request
    from fastapi.responses import JSONResponse

    @app.exception_handler(SpyglassError)
    async def spyglass_error(request: Request, exc: SpyglassError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status_of(exc), headers=headers_of(exc))
