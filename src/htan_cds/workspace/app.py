"""Wire the workspace into a FastAPI app: routers, error shape, runner lifecycle."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from htan_cds.config import DataHome
from htan_cds.workspace.context import DEFAULT_BASE_URL, WorkspaceContext
from htan_cds.workspace.sb_errors import SbApiError


async def _sb_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SbApiError)
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


def install(app: FastAPI, home: DataHome, base_url: str = DEFAULT_BASE_URL) -> WorkspaceContext:
    """Mount the workspace of ``home``, served at public ``base_url``, on ``app``."""
    from htan_cds.workspace import api, drs_bridge, redirect, upload

    ctx = WorkspaceContext.open(home, base_url)
    app.state.workspace = ctx
    app.add_exception_handler(SbApiError, _sb_error)
    app.include_router(redirect.router)
    app.include_router(upload.router)
    app.include_router(drs_bridge.router)
    app.include_router(api.router)
    drs_bridge.install_middleware(app)
    _chain_lifespan(app, ctx)
    return ctx


def _chain_lifespan(app: FastAPI, ctx: WorkspaceContext) -> None:
    # Wrap whatever lifespan the server set (default or custom) so that interrupted jobs are
    # resumed when the server starts, not at the first request.
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(the_app: Any) -> AsyncIterator[Any]:
        async with inner(the_app) as state:
            ctx.ensure_started()
            try:
                yield state
            finally:
                ctx.shutdown()

    app.router.lifespan_context = lifespan


def create_workspace_app(home: DataHome, base_url: str = DEFAULT_BASE_URL) -> FastAPI:
    """A stand-alone workspace app (``htan-cds workspace serve``), without a commons."""
    from fastapi.exception_handlers import http_exception_handler
    from starlette.exceptions import HTTPException

    from htan_cds.server.config import DEFAULT_MAX_BODY
    from htan_cds.server.errors import prefers_html
    from htan_cds.server.limits import BodyLimit
    from htan_cds.workspace.pages import missing_page, mount_static

    app = FastAPI(title="htan-cds workspace", version="1")
    install(app, home, base_url)
    mount_static(app)  # the pages share the portal's stylesheet
    # Outside the DRS bridge (added by install), so it cannot read past the limit either.
    app.add_middleware(BodyLimit, limit=DEFAULT_MAX_BODY)

    async def not_found(request: Request, exc: Exception) -> Any:
        # Browsers get a page in the portal's look; API clients FastAPI's JSON error.
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404 and prefers_html(request.headers.get("accept", "")):
            return missing_page(request)
        return await http_exception_handler(request, exc)

    app.add_exception_handler(HTTPException, not_found)
    return app
