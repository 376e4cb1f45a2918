"""``GET /view/{drs_id}``: the deep-zoom viewer page (OpenSeadragon over the IIIF service).

Mounted through ``server/extensions.py``. The page of a controlled image needs the same grant
as its bytes — the portal's session cookie (``server/session.py``) or a bearer header; without
one it shows a sign-in form and nothing about the file (401), with a token that does not cover
the image it says so (403).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse

from htan_cds.server.access import decide
from htan_cds.server.image_readers import is_image_name
from htan_cds.server.named_bytes import avivator_link, offsets_name
from htan_cds.server.portal.pages import templates
from htan_cds.server.session import request_caller

router = APIRouter(include_in_schema=False)
OSD_PREFIX = "/portal/static/vendor/openseadragon/"


def _render(request: Request, name: str, context: dict[str, Any], status: int) -> HTMLResponse:
    response: HTMLResponse = templates.TemplateResponse(
        request, name, {"page": "viewer", **context}, status_code=status
    )
    return response


@router.get("/view/{drs_id:path}", response_class=HTMLResponse)
def view(request: Request, drs_id: str) -> HTMLResponse:
    """The viewer for one image; a sign-in form when the image is controlled."""
    app = request.app
    record = app.state.drs.repo.snapshot().files.get(drs_id)
    if record is None or not record.object_key or not is_image_name(record.name):
        return _render(request, "not_found.html", {"drs_id": drs_id}, 404)
    caller = request_caller(request)
    refused = 401 if caller is None else decide(record.groups, caller)
    here = "/view/" + quote(drs_id, safe="/")
    if refused is not None:
        context = {
            "next": here,
            "refused": refused,
            "failed": request.query_params.get("signin") == "failed",
        }
        return _render(request, "viewer_signin.html", context, refused)
    config = app.state.config
    avivator = None
    if offsets_name(record.name) is not None:
        key = config.home.secret_key()
        avivator = avivator_link(config.base_url, key, drs_id, record.name, config.access_ttl)
    context = {
        "name": record.name,
        "drs_id": drs_id,
        "iiif": "/iiif/3/" + quote(drs_id, safe=""),
        "file_url": "/file/" + quote(drs_id, safe="/"),
        "avivator": avivator,
        "osd_prefix": OSD_PREFIX,
        "controlled": record.controlled,
    }
    response = _render(request, "viewer.html", context, 200)
    # The page embeds a signed URL: never cache it in shared caches.
    response.headers["Cache-Control"] = "private, no-store"
    return response


def mount(app: FastAPI, config: Any) -> None:
    """Add ``GET /view/{drs_id}`` (a ``create_app`` extension; needs the portal's templates)."""
    del config
    app.include_router(router)
