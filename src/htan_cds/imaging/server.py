"""``GET /thumbnails/{object_id}.png`` on the commons server (a ``create_app`` extension).

Thumbnails are rendered from the object's bytes (the local store's file, or a presigned URL for
an S3 store) on first request, then served from the data home's cache. Only the sizes of
``CACHED_SIZES`` are cached (others are scaled down from the next one up, in memory), and the
cache is pruned to the ``[limits]`` of ``config.toml`` (``htan_cds.server.caps``). Open
objects are public; controlled ones need a bearer token (or the portal's session) whose grants
cover the object's consent group (the server's own access rules).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Query
from starlette.requests import Request
from starlette.responses import Response

from htan_cds.errors import HtanCdsError
from htan_cds.imaging.thumbnails import DEFAULT_THUMBNAIL_SIZE, MAX_SIZE, MIN_SIZE

if TYPE_CHECKING:
    from fastapi import FastAPI

_log = logging.getLogger("htan_cds.imaging")
_IMAGE_SUFFIXES = (".tif", ".tiff", ".svs", ".btf", ".tf2", ".tf8", ".qptiff")


def _object_source(app: Any, record: Any) -> Path | str | None:
    """Where to read the object's bytes: its file in the local store, or for an S3 store a
    presigned https URL (read by small ranges like any remote image)."""
    from htan_cds.storage.local import LocalObjectStore

    if not record.object_key:
        return None
    store = app.state.config.store
    if store and store.startswith("s3://"):
        access = app.state.drs.access.access_url(record, "https")
        return str(access["url"]) if access and access.get("url") else None
    if store and "://" in store:
        return None
    root = Path(store).expanduser() if store else app.state.config.home.objects_dir
    path = LocalObjectStore(root).path_for(record.object_key)
    return path if path.is_file() else None


def _thumbnail(request: Request, object_id: str, size: int) -> Response:
    from starlette.responses import FileResponse

    from htan_cds.imaging.thumbnails import cached_size_for, ensure_thumbnail, thumbnail_path
    from htan_cds.server.access import decide
    from htan_cds.server.caps import folder_limits, touch
    from htan_cds.server.errors import error_response
    from htan_cds.server.objects import FileRecord
    from htan_cds.server.session import request_caller

    app = request.app
    config = app.state.config
    if not object_id.endswith(".png"):
        return error_response(404, "no such endpoint")
    object_id = object_id[: -len(".png")]
    if not MIN_SIZE <= size <= MAX_SIZE:
        return error_response(400, f"size must be {MIN_SIZE}..{MAX_SIZE}")
    record = app.state.drs.repo.snapshot().get(object_id)
    if not isinstance(record, FileRecord):
        return error_response(404, "no such object")
    # A bearer token or the portal's session; a presented credential that does not verify is
    # refused, as the DRS routes do (RFC 6750).
    caller = request_caller(request)
    refused = 401 if caller is None else decide(record.groups, caller)
    if refused is not None:
        headers = {"WWW-Authenticate": "Bearer"} if refused == 401 else None
        return error_response(refused, "not authorised for this object", headers)
    if not record.name.lower().endswith(_IMAGE_SUFFIXES):
        return error_response(404, "no thumbnail: the object is not an image")
    source = _object_source(app, record)
    if source is None:
        return error_response(404, "no thumbnail: the object's bytes are not stored here")
    cached = cached_size_for(size)
    try:
        if thumbnail_path(config.home, object_id, cached).is_file():
            path = thumbnail_path(config.home, object_id, cached)
            touch(path)  # recently used: pruned last
        else:
            path = ensure_thumbnail(config.home, object_id, source, size=cached)
            # The cache stays under [limits] (least recently used first): issue 11 saw 297 MiB
            # of thumbnails in 40 s from one client asking for every size.
            folder_limits(app).thumbnails.prune(config.home.thumbnails_dir, keep=path)
    except HtanCdsError as exc:
        _log.warning("thumbnail of %s failed: %s", object_id, exc)
        return error_response(422, "no thumbnail: the image cannot be read")
    cache = "public, max-age=86400" if not record.controlled else "private, max-age=3600"
    if cached == size:
        return FileResponse(path, media_type="image/png", headers={"Cache-Control": cache})
    return Response(_scaled(path, size), media_type="image/png", headers={"Cache-Control": cache})


def _scaled(path: Path, size: int) -> bytes:
    """The PNG at ``path`` scaled so its longer side is ``size`` pixels (never enlarged)."""
    import io

    from PIL import Image

    with Image.open(path) as image:
        image.thumbnail((size, size), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        image.save(out, format="PNG", optimize=False)
    return out.getvalue()


def mount(app: FastAPI, config: Any) -> None:
    """Add ``GET /thumbnails/{object_id}.png`` (``?size=`` 16..2048, default 512) to ``app``."""

    # A plain def: FastAPI runs it in its thread pool, so rendering never blocks the loop.
    def thumbnail(
        request: Request,
        object_id: str,
        size: int = Query(DEFAULT_THUMBNAIL_SIZE),
    ) -> Response:
        return _thumbnail(request, object_id, size)

    app.add_api_route(
        "/thumbnails/{object_id:path}",
        thumbnail,
        methods=["GET"],
        include_in_schema=True,
        summary="PNG thumbnail of an image object (open, or authorised by bearer token)",
        response_model=None,
        name="thumbnail",
    )
