"""Import-redirect: the receiving end of a portal's "Export to Cancer Genomics Cloud".

``GET /import-redirect/drs/csv?URL=<signed manifest URL>`` fetches the manifest and shows CGC's
confirm form (project, tags, naming-conflict choice); the form's POST starts an import job and
redirects to its progress page, which lists every file's result. Signing in is the workspace
token (as CGC asks its users to log in); it is then kept in an HttpOnly cookie.

Both forms are protected against cross-site submission. The sign-in form (login CSRF: another
site signing the browser into the attacker's account, whose projects then receive the victim's
imports) carries an HMAC of a random pre-session cookie (SameSite=Strict, so a cross-site POST
arrives without it), and a cross-site ``Origin``/``Sec-Fetch-Site`` is refused outright. The
confirm form carries an HMAC of the fetched manifest's id and the signed-in user, and the
manifest can only be confirmed by the user who fetched it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from htan_cds.server.session import secure_cookies
from htan_cds.workspace import sb_errors
from htan_cds.workspace.api import submit_import
from htan_cds.workspace.auth import User, token_from_headers
from htan_cds.workspace.context import WorkspaceContext
from htan_cds.workspace.manifest_fetch import check_url, fetch_manifest_text, parse_manifest
from htan_cds.workspace.pages import page
from htan_cds.workspace.store import CONFLICT_POLICIES, ItemRequest, new_id

router = APIRouter(include_in_schema=False)
COOKIE = "hcds_ws_token"
PRE_COOKIE = "hcds_ws_signin"
_PREVIEW_ROWS = 200


def _ctx(request: Request) -> WorkspaceContext:
    ctx: WorkspaceContext = request.app.state.workspace
    ctx.ensure_started()
    return ctx


def _page(name: str, status: int = 200, **values: Any) -> HTMLResponse:
    return page(name, status, **values)


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def _error(request: Request, exc: sb_errors.SbApiError) -> Response:
    if _wants_html(request):
        return _page("error.html", exc.status, error=exc.body())
    return JSONResponse(exc.body(), status_code=exc.status)


def _csrf(ctx: WorkspaceContext, manifest_id: str, user: User) -> str:
    key = ctx.home.secret_key()
    text = f"import-redirect:{manifest_id}:{user.username}"
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def _signin_mac(ctx: WorkspaceContext, pre: str) -> str:
    return hmac.new(ctx.home.secret_key(), f"signin:{pre}".encode(), hashlib.sha256).hexdigest()


def _signin_page(
    request: Request,
    ctx: WorkspaceContext,
    url: str,
    status: int,
    error: str | None,
    next_path: str = "",
) -> Response:
    """The sign-in form with a fresh pre-session cookie and the HMAC of it.

    ``url`` is the manifest waiting (import-redirect); ``next_path`` a workspace page to return
    to instead (``/workspace/import``)."""
    pre = secrets.token_urlsafe(24)
    form = _page(
        "signin.html",
        status,
        url=url,
        next_path=next_path,
        error=error,
        csrf=_signin_mac(ctx, pre),
    )
    form.set_cookie(
        PRE_COOKIE,
        pre,
        httponly=True,
        samesite="strict",
        max_age=3600,
        path="/import-redirect",
        secure=secure_cookies(request),
    )
    return form


def signin_page(request: Request, next_path: str) -> Response:
    """The sign-in form for a workspace page (``next_path``), e.g. ``/workspace/import``."""
    return _signin_page(request, _ctx(request), "", 200, None, next_path)


def _next_path(value: str) -> str:
    # Only the workspace's own pages: never an absolute or scheme-relative URL (open redirect).
    if value.startswith("/workspace/") and "//" not in value and "\\" not in value:
        return value
    return ""


def _cross_site(request: Request) -> bool:
    """True when the browser says the request comes from another site (Fetch Metadata, or an
    ``Origin`` whose host is not this server's)."""
    if request.headers.get("sec-fetch-site", "") in ("cross-site", "same-site"):
        return True
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin == "null"
    from urllib.parse import urlsplit

    return urlsplit(origin).netloc.lower() != (request.headers.get("host") or "").lower()


def _cookie_user(ctx: WorkspaceContext, request: Request) -> User | None:
    return ctx.auth.user(request.cookies.get(COOKIE))


@router.get("/import-redirect/drs/csv")
def import_redirect(request: Request) -> Response:
    """Sign in if needed, fetch the manifest at ``URL`` and show the confirm form.

    The manifest is fetched only for a signed-in user, so the page is not an anonymous
    fetcher of arbitrary URLs."""
    ctx = _ctx(request)
    url = request.query_params.get("URL") or request.query_params.get("url")
    try:
        if not url:
            raise sb_errors.bad_request("The URL parameter (a manifest URL) is required.")
        check_url(url, ctx.settings)
        user = _request_user(ctx, request)
        if user is None:
            if _wants_html(request):
                return _signin_page(request, ctx, url, 200, None)
            raise sb_errors.unauthorized("Sign in (a workspace token) to import a manifest.")
        text = fetch_manifest_text(url, ctx.settings)
        rows = parse_manifest(text, ctx.settings)
    except sb_errors.SbApiError as exc:
        return _error(request, exc)
    manifest_id = ctx.store.save_redirect_manifest(
        url, [r.to_json() for r in rows], owner=user.username
    )
    projects = ctx.store.list_projects(owner=user.username, limit=1000)[0]
    return _page(
        "confirm.html",
        manifest_id=manifest_id,
        csrf=_csrf(ctx, manifest_id, user),
        source_url=url,
        rows=rows[:_PREVIEW_ROWS],
        total=len(rows),
        bad=sum(1 for r in rows if r.error),
        user=user,
        projects=projects,
        policies=CONFLICT_POLICIES,
    )


def _request_user(ctx: WorkspaceContext, request: Request) -> User | None:
    # Browsers carry the cookie; scripts may send the token as the API does.
    return _cookie_user(ctx, request) or ctx.auth.user(token_from_headers(request.headers))


@router.post("/import-redirect/signin")
async def signin(request: Request) -> Response:
    """Check the token, keep it in a cookie, go back to the manifest's confirm page."""
    ctx = _ctx(request)
    form = await request.form()
    token = str(form.get("token") or "").strip()
    url = str(form.get("URL") or "")
    next_path = _next_path(str(form.get("next") or ""))
    if not url and not next_path:
        return _error(request, sb_errors.bad_request("The URL field (a manifest URL) is required."))
    pre = request.cookies.get(PRE_COOKIE, "")
    mac = str(form.get("csrf") or "")
    if _cross_site(request) or not pre or not hmac.compare_digest(mac, _signin_mac(ctx, pre)):
        # Login CSRF: only this server's own, freshly served sign-in form may sign a browser in.
        return _signin_page(
            request, ctx, url, 403, "This sign-in form has expired; sign in again.", next_path
        )
    if ctx.auth.user(token) is None:
        return _signin_page(request, ctx, url, 401, "This token is not valid here.", next_path)
    target = next_path or f"/import-redirect/drs/csv?URL={quote(url, safe='')}"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        max_age=8 * 3600,
        secure=secure_cookies(request),
    )
    response.delete_cookie(PRE_COOKIE, path="/import-redirect")
    return response


@router.post("/import-redirect/drs/confirm")
async def confirm(request: Request) -> Response:
    """Start the import the user confirmed; redirect to its progress page."""
    ctx = _ctx(request)
    form = await request.form()
    field = {k: str(v).strip() for k, v in form.items() if isinstance(v, str)}
    manifest_id = field.get("manifest_id", "")
    try:
        token = field.get("token") or request.cookies.get(COOKIE) or ""
        user = ctx.auth.user(token)
        if user is None:
            raise sb_errors.unauthorized("Sign in with a valid workspace token to import.")
        if _cross_site(request) or not hmac.compare_digest(
            field.get("csrf", ""), _csrf(ctx, manifest_id, user)
        ):
            raise sb_errors.SbApiError(403, sb_errors.BAD_REQUEST, "The form has expired; reload.")
        saved = ctx.store.get_redirect_manifest(manifest_id, owner=user.username)
        if saved is None:
            raise sb_errors.not_found("This manifest is unknown; export again.", 9202)
        _, rows, existing_job = saved
        if existing_job:
            return RedirectResponse(f"/import-redirect/jobs/{existing_job}", status_code=303)
        conflict = field.get("conflict_resolution", "SKIP").upper()
        if conflict not in CONFLICT_POLICIES:
            raise sb_errors.bad_request(f"Unknown naming-conflict choice {conflict!r}.")
        project_id = _project_choice(ctx, user, field)
        tags = [t.strip() for t in field.get("tags", "").split(",") if t.strip()]
        job_id = _start(ctx, user, manifest_id, rows, project_id, tags, conflict)
    except sb_errors.SbApiError as exc:
        return _error(request, exc)
    response = RedirectResponse(f"/import-redirect/jobs/{job_id}", status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        max_age=8 * 3600,
        secure=secure_cookies(request),
    )
    return response


def _project_choice(ctx: WorkspaceContext, user: User, field: dict[str, str]) -> str:
    new_name = field.get("new_project", "")
    if new_name:
        existing = ctx.store.get_project(f"{user.username}/{_slug(new_name)}")
        if existing is not None:
            return existing.id
        return ctx.store.create_project(user.username, new_name).id
    project_id = field.get("project", "")
    project = ctx.store.get_project(project_id) if project_id else None
    if project is None or project.owner != user.username:
        raise sb_errors.not_found(
            f"Project {project_id or '(none chosen)'} does not exist; choose or name one.",
            sb_errors.PROJECT_NOT_FOUND,
        )
    return project.id


def _slug(name: str) -> str:
    from htan_cds.workspace.store import slugify

    return slugify(name)


def _start(
    ctx: WorkspaceContext,
    user: User,
    manifest_id: str,
    rows: list[dict[str, Any]],
    project_id: str,
    tags: list[str],
    conflict: str,
) -> str:
    good = [r for r in rows if not r.get("error")]
    if not good:
        raise sb_errors.bad_request("No row of the manifest has a valid DRS URI.")
    items = [
        ItemRequest(
            drs_uri=r["drs_uri"], project=project_id, name=r.get("name"), metadata=r["metadata"]
        )
        for r in good
    ]
    # Claim the manifest before the job exists, so a double submit makes one job, not two.
    job_id = new_id(16)
    if not ctx.store.claim_redirect_manifest(manifest_id, job_id):
        saved = ctx.store.get_redirect_manifest(manifest_id)
        return str(saved[2]) if saved and saved[2] else job_id
    try:
        return submit_import(ctx, user, items, tags=tags, conflict=conflict, job_id=job_id)
    except sb_errors.SbApiError:
        ctx.store.release_redirect_manifest(manifest_id)
        raise


@router.get("/import-redirect/jobs/{job_id}")
def job_page(request: Request, job_id: str) -> Response:
    """Progress and per-file results of an import (refreshes itself until finished)."""
    ctx = _ctx(request)
    user = _cookie_user(ctx, request)
    job = ctx.store.get_job(job_id)
    if job is None or user is None or job.owner != user.username:
        return _error(
            request,
            sb_errors.not_found(f"Import {job_id} does not exist.", sb_errors.IMPORT_NOT_FOUND),
        )
    files = {it.file_id: ctx.store.get_file(it.file_id) for it in job.items if it.file_id}
    done = sum(1 for it in job.items if it.state != "PENDING")
    failed = sum(1 for it in job.items if it.state == "FAILED")
    projects = sorted({it.project for it in job.items})
    return _page("job.html", job=job, files=files, done=done, failed=failed, projects=projects)


@router.get("/workspace/projects/{owner}/{short}")
def project_page(request: Request, owner: str, short: str) -> Response:
    """The files of a project."""
    ctx = _ctx(request)
    user = _cookie_user(ctx, request)
    project = ctx.store.get_project(f"{owner}/{short}")
    if project is None or user is None or project.owner != user.username:
        return _error(
            request,
            sb_errors.not_found(
                f"Project {owner}/{short} does not exist.", sb_errors.PROJECT_NOT_FOUND
            ),
        )
    files, total = ctx.store.list_files(project.id, limit=10_000)
    return _page("project.html", project=project, files=files, total=total)
