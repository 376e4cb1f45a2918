"""The Seven Bridges ``/v2`` subset: user, projects, files, bulk DRS imports.

Request bodies are parsed by hand rather than by FastAPI models so that every mistake answers
with SB's error shape (``status, code, message, more_info``), never FastAPI's ``detail``.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from htan_cds.drs.uri import normalize_drs_uri
from htan_cds.errors import HtanCdsError
from htan_cds.server.limits import MAX_SAFE_INT, BadRequestBody, parse_json
from htan_cds.settings import drs_settings
from htan_cds.workspace import sb_errors
from htan_cds.workspace.auth import User, token_from_headers
from htan_cds.workspace.context import WorkspaceContext
from htan_cds.workspace.ratelimit import delay_for
from htan_cds.workspace.resources import (
    collection,
    file_resource,
    job_resource,
    project_resource,
    user_resource,
)
from htan_cds.workspace.store import CONFLICT_POLICIES, ItemRequest, Project

router = APIRouter(prefix="/v2", include_in_schema=True, tags=["workspace (SB /v2)"])

DEFAULT_LIMIT = 50
MAX_LIMIT = 100


def _ctx(request: Request) -> WorkspaceContext:
    ctx: WorkspaceContext = request.app.state.workspace
    ctx.ensure_started()
    return ctx


def _base(request: Request) -> str:
    # The configured public URL, not the request's Host header (the client chooses that).
    return _ctx(request).base_url + "/v2"


def _user(request: Request) -> User:
    user = _ctx(request).auth.user(token_from_headers(request.headers))
    if user is None:
        raise sb_errors.unauthorized()
    return user


def _page(request: Request) -> tuple[int, int]:
    try:
        offset = int(request.query_params.get("offset") or 0)
        limit = int(request.query_params.get("limit") or DEFAULT_LIMIT)
    except ValueError as exc:
        raise sb_errors.bad_request("offset and limit must be integers.") from exc
    if offset < 0 or limit <= 0:
        raise sb_errors.bad_request("offset must be >= 0 and limit > 0.")
    if offset > MAX_SAFE_INT:
        raise sb_errors.bad_request(f"offset must be at most {MAX_SAFE_INT}.")
    return offset, min(limit, MAX_LIMIT)


def _paged(
    request: Request, items: list[dict[str, Any]], offset: int, limit: int, total: int
) -> JSONResponse:
    params = dict(request.query_params)
    params.update(offset=str(offset + limit), limit=str(limit))
    url = str(request.url).split("?", 1)[0]
    body = collection(
        str(request.url),
        items,
        offset=offset,
        limit=limit,
        total=total,
        next_href=f"{url}?{urlencode(params)}",
    )
    return JSONResponse(body, headers={"X-Total-Matching-Query": str(total)})


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = parse_json(raw or b"null")
    except BadRequestBody as exc:
        raise sb_errors.bad_request(f"Request body: {exc.message}.") from None
    if not isinstance(body, dict):
        raise sb_errors.bad_request("Request body must be a JSON object.")
    return body


def _owned_project(ctx: WorkspaceContext, user: User, project_id: str) -> Project:
    if not isinstance(project_id, str) or project_id.count("/") != 1:
        raise sb_errors.bad_request(
            f"Malformed project id {project_id!r}. Expecting owner/project.",
            sb_errors.PROJECT_ID_MALFORMED,
        )
    project = ctx.store.get_project(project_id)
    if project is None:
        raise sb_errors.not_found(
            f"Requested project {project_id} does not exist.", sb_errors.PROJECT_NOT_FOUND
        )
    if project.owner != user.username:
        raise sb_errors.SbApiError(
            403,
            sb_errors.PROJECT_FORBIDDEN,
            f"Not enough privileges to access the requested project {project_id}.",
        )
    return project


# -- user ----------------------------------------------------------------------------------


@router.get("/user")
def get_user(request: Request) -> JSONResponse:
    """The authenticated user (``api.users.me()``)."""
    return JSONResponse(user_resource(_base(request), _user(request)))


@router.get("/rate_limit")
def get_rate_limit(request: Request) -> JSONResponse:
    """Import quota left in the current window (``api.rate_limit``)."""
    user = _user(request)
    ctx = _ctx(request)
    now = time.time()
    used = sum(n for _, n in ctx.store.usage_since(user.username, now - ctx.import_window))
    return JSONResponse(
        {
            "rate": {
                "limit": ctx.settings.import_limit,
                "remaining": max(ctx.settings.import_limit - used, 0),
                "reset": int(now + ctx.import_window),
            },
            "instance_limit": {"limit": -1, "remaining": -1},
        }
    )


# -- projects ------------------------------------------------------------------------------


@router.get("/projects")
@router.get("/projects/")
def list_projects(request: Request) -> JSONResponse:
    """The caller's projects (``api.projects.query()``)."""
    return _list_projects(request, None)


@router.get("/projects/{owner}")
def list_owner_projects(request: Request, owner: str) -> JSONResponse:
    """Projects of ``owner`` (``api.projects.query(owner=...)``); only one's own are visible."""
    return _list_projects(request, owner)


def _list_projects(request: Request, owner: str | None) -> JSONResponse:
    user = _user(request)
    ctx = _ctx(request)
    if owner is not None and owner != user.username:
        return _paged(request, [], 0, DEFAULT_LIMIT, 0)
    offset, limit = _page(request)
    projects, total = ctx.store.list_projects(
        owner=user.username, name=request.query_params.get("name"), offset=offset, limit=limit
    )
    base = _base(request)
    return _paged(request, [project_resource(base, p) for p in projects], offset, limit, total)


@router.post("/projects")
async def create_project(request: Request) -> JSONResponse:
    """Create ``<user>/<short name>`` (``api.projects.create(name=...)``)."""
    user = _user(request)
    body = await _json_body(request)
    name = body.get("name")
    if not isinstance(name, str):
        raise sb_errors.bad_request(
            "Project name must not be null or empty string.", sb_errors.PROJECT_NAME_EMPTY
        )
    tags = body.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise sb_errors.bad_request("tags must be a list of strings.")
    description = body.get("description")
    project = _ctx(request).store.create_project(
        user.username,
        name,
        description=description if isinstance(description, str) else None,
        tags=tags,
        short_name=body.get("short_name") if isinstance(body.get("short_name"), str) else None,
    )
    return JSONResponse(project_resource(_base(request), project), status_code=201)


@router.get("/projects/{owner}/{short}")
def get_project(request: Request, owner: str, short: str) -> JSONResponse:
    """One project (``api.projects.get(id='owner/project')``)."""
    user = _user(request)
    project = _owned_project(_ctx(request), user, f"{owner}/{short}")
    return JSONResponse(project_resource(_base(request), project))


# -- files ---------------------------------------------------------------------------------


def _file_json(ctx: WorkspaceContext, base: str, file_id: str) -> dict[str, Any] | None:
    record = ctx.store.get_file(file_id)
    if record is None:
        return None
    project = ctx.store.get_project(record.project)
    return file_resource(base, record, project.root_folder if project else None)


@router.get("/files")
def list_files(request: Request) -> JSONResponse:
    """Files of a project (``api.files.query(project=...)``), filtered by name/tag/metadata."""
    user = _user(request)
    ctx = _ctx(request)
    q = request.query_params
    project_id = q.get("project")
    parent = q.get("parent")
    if parent and not project_id:
        project_id = ctx.store.project_of_folder(parent)
        if project_id is None:
            raise sb_errors.not_found(f"Folder {parent} does not exist.", sb_errors.FILE_NOT_FOUND)
    if not project_id:
        raise sb_errors.bad_request("One of project or parent must be given.")
    project = _owned_project(ctx, user, project_id)
    offset, limit = _page(request)
    metadata = {k[len("metadata.") :]: v for k, v in q.items() if k.startswith("metadata.")}
    records, total = ctx.store.list_files(
        project.id,
        names=[n for n in q.getlist("name") if n],
        tags=q.getlist("tag"),
        metadata=metadata,
        offset=offset,
        limit=limit,
    )
    base = _base(request)
    items = [file_resource(base, r, project.root_folder) for r in records]
    return _paged(request, items, offset, limit, total)


@router.get("/files/{file_id}")
def get_file(request: Request, file_id: str) -> JSONResponse:
    """One file (``api.files.get(id)``)."""
    user = _user(request)
    ctx = _ctx(request)
    data = _file_json(ctx, _base(request), file_id)
    if data is None or ctx.store.get_project(data["project"]) is None:
        raise sb_errors.not_found(
            f"Requested file {file_id} does not exist.", sb_errors.FILE_NOT_FOUND
        )
    _owned_project(ctx, user, data["project"])
    return JSONResponse(data)


@router.get("/files/{file_id}/download_info")
def get_download_info(request: Request, file_id: str) -> JSONResponse:
    """A signed URL for the file's bytes (``File.download_info()``)."""
    user = _user(request)
    ctx = _ctx(request)
    record = ctx.store.get_file(file_id)
    if record is None:
        raise sb_errors.not_found(
            f"Requested file {file_id} does not exist.", sb_errors.FILE_NOT_FOUND
        )
    _owned_project(ctx, user, record.project)
    return JSONResponse({"url": ctx.signed_content_url(record.id)})


@router.post("/bulk/files/get")
async def bulk_get_files(request: Request) -> JSONResponse:
    """Several files at once (``api.files.bulk_get``): a record per id, resource or error."""
    user = _user(request)
    ctx = _ctx(request)
    body = await _json_body(request)
    ids = body.get("file_ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise sb_errors.bad_request("file_ids must be a list of file ids.")
    if len(ids) > ctx.settings.max_items_per_call:
        raise sb_errors.bad_request(
            f"At most {ctx.settings.max_items_per_call} file ids per call; got {len(ids)}.",
            sb_errors.TOO_MANY_ITEMS,
        )
    base = _base(request)
    items: list[dict[str, Any]] = []
    for file_id in ids:
        data = _file_json(ctx, base, file_id)
        project = ctx.store.get_project(data["project"]) if data else None
        if data is None or project is None or project.owner != user.username:
            items.append(
                {
                    "error": sb_errors.sb_error_body(
                        404, sb_errors.FILE_NOT_FOUND, f"Requested file {file_id} does not exist."
                    )
                }
            )
        else:
            items.append({"resource": data})
    return JSONResponse({"items": items})


# -- bulk DRS imports ----------------------------------------------------------------------


def parse_import_items(ctx: WorkspaceContext, user: User, raw_items: Any) -> list[ItemRequest]:
    """Validate a bulk import's ``items`` as a whole; any mistake is an SB-shaped error."""
    limit = ctx.settings.max_items_per_call
    if not isinstance(raw_items, list) or not raw_items:
        raise sb_errors.bad_request("items must be a non-empty list.")
    if len(raw_items) > limit:
        raise sb_errors.bad_request(
            f"A bulk DRS import takes at most {limit} items per call; got {len(raw_items)}.",
            sb_errors.TOO_MANY_ITEMS,
        )
    items: list[ItemRequest] = []
    for i, raw in enumerate(raw_items):
        where = f"items[{i}]"
        if not isinstance(raw, dict):
            raise sb_errors.bad_request(f"{where} must be an object.")
        drs_uri = raw.get("drs_uri")
        if not isinstance(drs_uri, str) or not drs_uri.strip():
            raise sb_errors.bad_request(f"{where}.drs_uri is required.")
        try:
            # Compact forms (dg.4DFC/<uuid>) are expanded here, as the engine will resolve them.
            drs_uri = str(normalize_drs_uri(drs_uri.strip(), drs_settings().registry))
        except HtanCdsError as exc:
            raise sb_errors.bad_request(f"{where}.drs_uri is not a DRS URI: {exc}") from exc
        project_id = raw.get("project")
        parent = raw.get("parent")
        if bool(project_id) == bool(parent):
            raise sb_errors.bad_request(f"{where}: exactly one of project or parent is required.")
        if parent:
            if not isinstance(parent, str):
                raise sb_errors.bad_request(f"{where}.parent must be a folder id.")
            project_id = ctx.store.project_of_folder(parent)
            if project_id is None:
                raise sb_errors.not_found(
                    f"{where}: folder {parent} does not exist.", sb_errors.FILE_NOT_FOUND
                )
        project = _owned_project(ctx, user, str(project_id))
        name = raw.get("name")
        if name is not None and (not isinstance(name, str) or "/" in name or not name.strip()):
            raise sb_errors.bad_request(f"{where}.name must be a file name without '/'.")
        metadata = raw.get("metadata") or {}
        if not isinstance(metadata, dict) or any(
            isinstance(v, dict | list) for v in metadata.values()
        ):
            raise sb_errors.bad_request(f"{where}.metadata must be an object of plain values.")
        items.append(
            ItemRequest(
                drs_uri=drs_uri.strip(),
                project=project.id,
                name=name.strip() if isinstance(name, str) else None,
                metadata={str(k): "" if v is None else str(v) for k, v in metadata.items()},
            )
        )
    return items


def submit_import(
    ctx: WorkspaceContext,
    user: User,
    items: list[ItemRequest],
    *,
    tags: list[str],
    conflict: str,
    job_id: str | None = None,
) -> str:
    """Check the caller's import quota, persist the job, queue it; return the job id."""
    now = time.time()
    with ctx.quota_lock:
        events = ctx.store.usage_since(user.username, now - ctx.import_window)
        wait = delay_for(events, len(items), ctx.settings.import_limit, ctx.import_window, now)
        if wait > 0:
            raise sb_errors.SbApiError(
                429,
                sb_errors.RATE_LIMITED,
                f"Rate limit exceeded! At most {ctx.settings.import_limit} files per "
                f"{ctx.import_window:g} s; retry in {wait:.1f} s.",
            ).with_headers(
                {
                    "X-RateLimit-Limit": str(ctx.settings.import_limit),
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": str(int(now + wait + 1)),
                    "Retry-After": str(int(wait + 1)),
                }
            )
        ctx.store.record_usage(
            user.username, len(items), now, forget_before=now - ctx.import_window
        )
        job = ctx.store.create_job(
            user.username,
            items,
            tags=tags,
            conflict=conflict,
            job_id=job_id,
            token_id=user.token_id,
        )
    ctx.runner.submit(job.id)
    return job.id


@router.post("/bulk/drs/imports/create")
async def create_drs_import(request: Request) -> JSONResponse:
    """Start a bulk DRS import (``api.drs_imports.bulk_submit``)."""
    user = _user(request)
    ctx = _ctx(request)
    body = await _json_body(request)
    items = parse_import_items(ctx, user, body.get("items"))
    tags = body.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise sb_errors.bad_request("tags must be a list of strings.")
    conflict = str(body.get("conflict_resolution") or "SKIP").upper()
    if conflict not in CONFLICT_POLICIES:
        raise sb_errors.bad_request(
            f"conflict_resolution must be one of {', '.join(CONFLICT_POLICIES)}; got {conflict!r}."
        )
    job_id = submit_import(ctx, user, items, tags=tags, conflict=conflict)
    return JSONResponse(_job_json(ctx, _base(request), job_id))


def _job_json(ctx: WorkspaceContext, base: str, job_id: str) -> dict[str, Any]:
    job = ctx.store.get_job(job_id)
    if job is None:
        raise sb_errors.not_found(
            f"DRS import {job_id} does not exist.", sb_errors.IMPORT_NOT_FOUND
        )
    files: dict[str, dict[str, Any]] = {}
    for item in job.items:
        if item.file_id:
            data = _file_json(ctx, base, item.file_id)
            if data is not None:
                files[item.file_id] = data
    return job_resource(base, job, files)


@router.get("/bulk/drs/imports/{job_id}")
def get_drs_import(request: Request, job_id: str) -> JSONResponse:
    """A bulk DRS import's state and per-item results (``api.drs_imports.bulk_get``)."""
    user = _user(request)
    ctx = _ctx(request)
    job = ctx.store.get_job(job_id)
    if job is None or job.owner != user.username:
        raise sb_errors.not_found(
            f"DRS import {job_id} does not exist.", sb_errors.IMPORT_NOT_FOUND
        )
    return JSONResponse(_job_json(ctx, _base(request), job_id))


@router.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def not_in_subset(request: Request, rest: str) -> JSONResponse:
    """Anything else under /v2: SB-shaped 404 (this workspace implements a subset)."""
    raise sb_errors.not_found(
        f"{request.method} /v2/{rest} is not part of this workspace's SB API subset.",
        sb_errors.BAD_REQUEST,
    )
