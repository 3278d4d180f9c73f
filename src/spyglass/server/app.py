"""``create_app(home)``: the FastAPI application — REST API under ``/api``, MCP under ``/mcp``, the web app at ``/``."""

from __future__ import annotations

import contextlib
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from spyglass.core.config import Config
from spyglass.server import accesslog, api, errors, web_api
from spyglass.server.auth import resolve_token
from spyglass.server.guards import Guards, TokenBucket
from spyglass.server.mcp import build_mcp
from spyglass.server.state import ServerState

STATIC = Path(str(resources.files("spyglass.server").joinpath("static")))


def create_app(home: Path, config: Config | None = None) -> Any:
    """The ASGI app (FastAPI inside the request guards)."""
    state = ServerState(home, config)

    def mcp_principals(ctx: Any) -> list[str]:
        headers = (ctx.headers if ctx is not None else None) or {}
        scheme, _, token = headers.get("authorization", "").partition(" ")
        c = resolve_token(state, token.strip()) if scheme.lower() == "bearer" else None
        if c is None:
            raise PermissionError("send an API token: Authorization: Bearer sg_...")
        return c.principals

    mcp = build_mcp(state.pool.reader, mcp_principals)
    from mcp.server.transport_security import TransportSecuritySettings

    # Every /mcp request needs a bearer token (checked in mcp_entry below), which a browser never adds on its own,
    # so a DNS-rebinding page cannot use it; the Host check would only break proxies and other host names.
    mcp_app = mcp.streamable_http_app(
        streamable_http_path="/", stateless_http=True, json_response=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        async with mcp_app.router.lifespan_context(mcp_app):
            yield
        state.close()

    app = FastAPI(
        title="Spyglass",
        version=_version(),
        summary="Search, ask and organize your team's files — every result filtered by the caller's permissions.",
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.spyglass = state
    app.include_router(api.router)
    app.include_router(web_api.router)  # what the web app needs beyond the REST API

    errors.install(app)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"cache-control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    async def mcp_entry(scope: dict, receive: Any, send: Any) -> None:
        """``/mcp``: a valid API token is required before the MCP transport sees the request."""
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
            if scheme.lower() != "bearer" or resolve_token(state, token.strip()) is None:
                await JSONResponse({"detail": "send an API token: Authorization: Bearer sg_..."}, status_code=401,
                                   headers={"WWW-Authenticate": "Bearer"})(scope, receive, send)
                return
            scope = {**scope, "path": "/", "raw_path": b"/", "root_path": ""}
        await mcp_app(scope, receive, send)

    app.mount("/mcp", mcp_entry)

    s = state.config.server
    accesslog.install(s.log_queries)
    return Guards(app, max_body=s.max_body_kb * 1024, bucket=TokenBucket(s.rate_per_s, s.rate_burst),
                  timeout_s=s.timeout_s, known=state.callers.known)


def _version() -> str:
    from spyglass.core.version import __version__

    return __version__


def app_from_env() -> Any:
    """The app for ``$SPYGLASS_HOME`` (uvicorn's factory in each worker process)."""
    from spyglass.core.config import default_home

    return create_app(default_home())


def serve(home: Path, host: str | None = None, port: int | None = None, config: Config | None = None,
          workers: int | None = None) -> None:
    import os

    import uvicorn

    from spyglass.core.config import ENV_HOME, load_config

    cfg = config or load_config(home / "config.toml")
    s = cfg.server
    n = workers or s.workers
    common = {"host": host or s.host, "port": port or s.port, "log_level": "info", "proxy_headers": False,
              "timeout_graceful_shutdown": 5}
    if n > 1:  # processes: Python's GIL would keep one process on one core
        os.environ[ENV_HOME] = str(home)
        uvicorn.run("spyglass.server.app:app_from_env", factory=True, workers=n, **common)
    else:
        uvicorn.run(create_app(home, config), **common)


__all__ = ["create_app", "serve", "HTTPException"]
