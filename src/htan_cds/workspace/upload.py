"""``/workspace/import``: CGC's "Import from a DRS server" as the workspace's own page.

A signed-in user uploads a manifest *file* (any format the manifest toolkit reads, gzip allowed),
sees what ``htan-cds manifest check`` finds and what ``--fix`` would change, picks a project and
imports: the confirm form posts to the import-redirect flow's ``/import-redirect/drs/confirm``, so
the job, its progress page and the project page are the same.

Trust: the page needs the workspace sign-in (the HttpOnly cookie of import-redirect); the upload
form carries an HMAC bound to the user and is refused cross-site (Fetch Metadata / ``Origin``);
the upload is read to at most ``manifest_max_bytes`` (also after gunzip) and
``manifest_max_rows`` rows.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import zlib
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from htan_cds.workspace import sb_errors
from htan_cds.workspace.auth import User
from htan_cds.workspace.manifest_fetch import MANIFEST_INVALID, ManifestRowData
from htan_cds.workspace.redirect import (
    _cookie_user,
    _cross_site,
    _csrf,
    _ctx,
    _error,
    _page,
    signin_page,
)
from htan_cds.workspace.settings import WorkspaceSettings

router = APIRouter(include_in_schema=False)
_SHOWN = 200
_FIELD = "manifest"


@dataclass
class Review:
    """What the review page shows about one uploaded manifest."""

    filename: str
    format: str | None
    rows: int
    check: dict[str, Any]
    changes: list[dict[str, Any]]
    dropped: list[dict[str, Any]]
    importable: list[ManifestRowData] = field(default_factory=list)
    unusable: list[ManifestRowData] = field(default_factory=list)


def _upload_csrf(ctx: Any, user: User) -> str:
    text = f"workspace-upload:{user.username}:{user.token_id}"
    return hmac.new(ctx.home.secret_key(), text.encode(), hashlib.sha256).hexdigest()


def _invalid(message: str, status: int = 400) -> sb_errors.SbApiError:
    return sb_errors.SbApiError(status, MANIFEST_INVALID, message)


def decode_upload(data: bytes, limit: int) -> str:
    """The upload as text: gunzipped when gzip (bounded by ``limit`` too), decoded as manifest
    files are (``manifest/encodings.py``)."""
    if data[:2] == b"\x1f\x8b":
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            data = inflater.decompress(data, limit + 1)
        except zlib.error as exc:
            raise _invalid(f"The file is not valid gzip ({exc}).") from None
        if len(data) > limit or inflater.unconsumed_tail:
            raise _invalid(f"The manifest is larger than {limit} bytes unpacked.", 413)
    from htan_cds.errors import ManifestError
    from htan_cds.manifest.encodings import decode_bytes

    try:
        return decode_bytes(data, "The manifest")[0]  # UTF-8, UTF-16/32 with a BOM, Windows-1252
    except ManifestError as exc:
        raise _invalid(f"{exc.message}.") from None


def review_manifest(text: str, filename: str, fmt: str, settings: WorkspaceSettings) -> Review:
    """Read, check and repair a manifest as ``manifest check`` and ``convert --fix`` would.

    ``importable`` are the repaired rows (full DRS URIs, unique safe names); ``unusable`` the
    rows ``--fix`` drops, each with its reason. Every input row is in one of the two.
    """
    from htan_cds.errors import HtanCdsError
    from htan_cds.manifest import ManifestReader, check_rows, repair_rows

    try:
        with ManifestReader(io.StringIO(text), fmt) as reader:
            rows = []
            for row in reader:
                rows.append(row)
                if len(rows) > settings.manifest_max_rows:
                    raise _invalid(
                        f"The manifest lists more than {settings.manifest_max_rows} files."
                    )
            detected = reader.format
            shape = list(reader.context.findings)
    except HtanCdsError as exc:
        detail = str(exc).replace("<stream>", filename).replace("use --format", "choose its format")
        raise _invalid(f"The manifest is unreadable: {detail}") from None
    if not rows:
        raise _invalid("The manifest lists no files.")
    report = check_rows(rows, format=detected, extra_findings=shape)
    fixed = repair_rows(rows)
    dropped_rows = {f.row: f for f in fixed.dropped}
    originals = {r.row_number: r for r in rows}
    importable = [
        ManifestRowData(r.row_number, r.drs_uri, r.name, dict(r.metadata)) for r in fixed.rows
    ]
    unusable = [
        ManifestRowData(
            number,
            originals[number].drs_uri if number in originals else "",
            originals[number].name if number in originals else None,
            dict(originals[number].metadata) if number in originals else {},
            error=finding.message,
        )
        for number, finding in sorted(dropped_rows.items(), key=lambda item: item[0] or 0)
        if number is not None
    ]
    changes = [f.to_dict() for f in fixed.findings if f not in fixed.dropped]
    return Review(
        filename=filename,
        format=detected,
        rows=len(rows),
        check=report.to_dict(),
        changes=changes,
        dropped=[f.to_dict() for f in fixed.dropped],
        importable=importable,
        unusable=unusable,
    )


def _formats() -> list[str]:
    from htan_cds.manifest import format_names

    return ["auto", *format_names()]


@router.get("/workspace/import")
def import_form(request: Request) -> Response:
    """The upload form (or the sign-in form first)."""
    ctx = _ctx(request)
    user = _cookie_user(ctx, request)
    if user is None:
        return signin_page(request, "/workspace/import")
    return _page(
        "upload.html",
        nav="import",
        user=user,
        csrf=_upload_csrf(ctx, user),
        formats=_formats(),
        max_bytes=ctx.settings.manifest_max_bytes,
        max_rows=ctx.settings.manifest_max_rows,
        error=None,
    )


@router.post("/workspace/import")
async def upload(request: Request) -> Response:
    """Check the uploaded manifest and show findings, fixes and the confirm form."""
    ctx = _ctx(request)
    user = _cookie_user(ctx, request)
    if user is None:
        return _error(request, sb_errors.unauthorized("Sign in to import a manifest."))
    settings = ctx.settings
    try:
        form = await request.form(max_files=1, max_fields=8)
        if _cross_site(request) or not hmac.compare_digest(
            str(form.get("csrf") or ""), _upload_csrf(ctx, user)
        ):
            raise sb_errors.SbApiError(403, sb_errors.BAD_REQUEST, "The form has expired; reload.")
        item = form.get(_FIELD)
        if item is None or isinstance(item, str):
            raise _invalid("Choose a manifest file to upload.")
        data = await item.read(settings.manifest_max_bytes + 1)
        if len(data) > settings.manifest_max_bytes:
            raise _invalid(f"The manifest is larger than {settings.manifest_max_bytes} bytes.", 413)
        fmt = str(form.get("format") or "auto")
        if fmt not in _formats():
            raise _invalid(f"Unknown manifest format {fmt!r}.")
        filename = (item.filename or "manifest").rsplit("/", 1)[-1][:200]
        review = review_manifest(
            decode_upload(data, settings.manifest_max_bytes), filename, fmt, settings
        )
    except sb_errors.SbApiError as exc:
        return _error(request, exc)
    saved = sorted([*review.importable, *review.unusable], key=lambda r: r.row_number)
    manifest_id = ctx.store.save_redirect_manifest(
        f"upload:{review.filename}", [r.to_json() for r in saved], owner=user.username
    )
    projects = ctx.store.list_projects(owner=user.username, limit=1000)[0]
    return _page(
        "review.html",
        nav="import",
        review=review,
        shown=_SHOWN,
        manifest_id=manifest_id,
        csrf=_csrf(ctx, manifest_id, user),
        user=user,
        projects=projects,
        importable=len(review.importable),
    )


@router.get("/workspace/projects")
def projects_page(request: Request) -> Response:
    """The signed-in user's projects."""
    ctx = _ctx(request)
    user = _cookie_user(ctx, request)
    if user is None:
        return signin_page(request, "/workspace/projects")
    projects = ctx.store.list_projects(owner=user.username, limit=1000)[0]
    counts = {p.id: ctx.store.list_files(p.id, limit=1)[1] for p in projects}
    return _page("projects.html", nav="projects", user=user, projects=projects, counts=counts)
