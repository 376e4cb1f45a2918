"""Imported files served over GA4GH DRS, so a workspace can pass data on.

A workspace file ``<id>`` is the DRS object ``hcds-ws/<id>`` of the server it lives on
(``drs://HOST:PORT/hcds-ws/<id>``). A small ASGI middleware answers the standard DRS paths for
ids with that prefix (object, access URL, and bulk requests made only of workspace ids) before
the commons' own DRS routes see them; bytes come from ``/workspace/content/<id>`` under a
signed, short-lived URL. Access needs a token of the project's owner (Bearer or
``X-SBG-Auth-Token``): imported data may be controlled and is never re-served openly.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from htan_cds.server.config import DEFAULT_MAX_BULK
from htan_cds.server.limits import BadRequestBody, parse_json
from htan_cds.server.signing import verify
from htan_cds.workspace.auth import token_from_headers
from htan_cds.workspace.context import CONTENT_PATH, WorkspaceContext
from htan_cds.workspace.store import FileRecord

DRS_PREFIX = "hcds-ws/"
_DRS_ROOT = "/ga4gh/drs/v1/objects"
_OBJ_RE = re.compile(r"^/ga4gh/drs/v1/objects/hcds-ws/([0-9a-f]{24})(/access/([A-Za-z0-9_-]+))?/?$")

router = APIRouter(include_in_schema=False)


def drs_id(file_id: str) -> str:
    """The DRS id of a workspace file."""
    return DRS_PREFIX + file_id


def _drs_error(status: int, msg: str) -> JSONResponse:
    return JSONResponse({"msg": msg, "status_code": status}, status_code=status)


def _authority(request: Request) -> str:
    # The configured public authority, never the Host header (the client chooses that).
    ctx: WorkspaceContext = request.app.state.workspace
    return ctx.authority


def drs_object(request: Request, record: FileRecord) -> dict[str, Any]:
    """The DRS 1.5 object of a workspace file."""
    oid = drs_id(record.id)
    return {
        "id": oid,
        "name": record.name,
        "self_uri": f"drs://{_authority(request)}/{oid}",
        "size": record.size,
        "created_time": record.created_on,
        "updated_time": record.modified_on,
        "checksums": [
            {"type": "sha-256", "checksum": record.sha256},
            {"type": "md5", "checksum": record.md5},
        ],
        "access_methods": [{"type": "https", "access_id": "https"}],
        "aliases": [record.source_drs_uri] if record.source_drs_uri else [],
        "description": f"imported into workspace project {record.project}",
    }


def _authorised(ctx: WorkspaceContext, request: Request, record: FileRecord) -> bool:
    user = ctx.auth.user(token_from_headers(request.headers))
    project = ctx.store.get_project(record.project)
    return user is not None and project is not None and project.owner == user.username


def _object_response(
    ctx: WorkspaceContext, request: Request, file_id: str, access_id: str | None
) -> Response:
    record = ctx.store.get_file(file_id)
    if record is None:
        return _drs_error(404, f"no DRS object {drs_id(file_id)}")
    if not _authorised(ctx, request, record):
        return _drs_error(401, "a token of the project's owner is required")
    if access_id is None:
        return JSONResponse(drs_object(request, record))
    if access_id != "https":
        return _drs_error(404, f"no access method {access_id!r}")
    return JSONResponse({"url": ctx.signed_content_url(record.id)})


async def _bulk_response(ctx: WorkspaceContext, request: Request, ids: list[str]) -> Response:
    resolved: list[dict[str, Any]] = []
    missing: list[str] = []
    for oid in ids:
        record = ctx.store.get_file(oid[len(DRS_PREFIX) :])
        if record is None or not _authorised(ctx, request, record):
            missing.append(oid)
        else:
            resolved.append(drs_object(request, record))
    body: dict[str, Any] = {
        "summary": {"requested": len(ids), "resolved": len(resolved), "unresolved": len(missing)},
        "resolved_drs_object": resolved,
        "unresolved_drs_objects": [{"error_code": 404, "object_ids": missing}] if missing else [],
    }
    return JSONResponse(body)


class _DrsBridge:
    """Answers DRS requests for ``hcds-ws/`` ids; everything else goes to the app."""

    def __init__(self, app: ASGIApp, fastapi_app: FastAPI) -> None:
        self.app = app
        self.fastapi_app = fastapi_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(_DRS_ROOT):
            await self.app(scope, receive, send)
            return
        ctx: WorkspaceContext = self.fastapi_app.state.workspace
        path = unquote(scope["path"])
        match = _OBJ_RE.match(path)
        if match and scope["method"] in ("GET", "POST"):
            request = Request(scope, receive)
            response = _object_response(ctx, request, match.group(1), match.group(3))
            await response(scope, receive, send)
            return
        if path.rstrip("/") == _DRS_ROOT and scope["method"] == "POST":
            body = await _read_body(receive)
            ids = _bulk_ids(body)
            if ids and all(i.startswith(DRS_PREFIX) for i in ids):
                if len(ids) > _max_bulk(self.fastapi_app):
                    # The commons' limit holds here too (maxBulkRequestLength in service-info).
                    await _drs_error(413, _bulk_limit_msg(self.fastapi_app))(scope, receive, send)
                    return
                request = Request(scope, _replay(b""))
                response = await _bulk_response(ctx, request, ids)
                await response(scope, receive, send)
                return
            await self.app(scope, _replay(body), send)
            return
        await self.app(scope, receive, send)


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


def _bulk_ids(body: bytes) -> list[str]:
    try:
        data = parse_json(body or b"{}")
    except BadRequestBody:
        return []  # the commons' own route answers the 400
    ids = data.get("bulk_object_ids") if isinstance(data, dict) else None
    return [str(i) for i in ids] if isinstance(ids, list) else []


def _max_bulk(app: FastAPI) -> int:
    config = getattr(app.state, "config", None)
    return int(getattr(config, "max_bulk", DEFAULT_MAX_BULK))


def _bulk_limit_msg(app: FastAPI) -> str:
    return f"at most {_max_bulk(app)} ids per request (maxBulkRequestLength)"


def install_middleware(app: FastAPI) -> None:
    """Put the DRS bridge in front of the app's routes."""
    app.add_middleware(_DrsBridge, fastapi_app=app)


@router.get(CONTENT_PATH + "{file_id}")
def content(request: Request, file_id: str) -> Response:
    """The bytes of a workspace file, under a signed URL (Range requests honoured)."""
    ctx: WorkspaceContext = request.app.state.workspace
    q = request.query_params
    if not verify(
        ctx.home.secret_key(), CONTENT_PATH + file_id, q.get("expires", ""), q.get("sig", "")
    ):
        return _drs_error(403, "invalid or expired signature")
    record = ctx.store.get_file(file_id)
    if record is None:
        return _drs_error(404, "no such file")
    return FileResponse(
        ctx.store.objects.path_for(record.sha256),
        filename=record.name,
        media_type="application/octet-stream",
    )
