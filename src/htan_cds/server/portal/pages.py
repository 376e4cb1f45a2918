"""HTML pages: landing, Data Explorer, cart and file detail (Jinja2, no JavaScript build step).

The landing and file pages are rendered on the server and work without JavaScript; the explorer
and the cart are shells that small ES modules fill from the JSON API.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Coroutine
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from htan_cds import __version__
from htan_cds.catalog import Catalog
from htan_cds.catalog.filters import FileFilter
from htan_cds.errors import CatalogError, HtanCdsError
from htan_cds.server.portal import queries
from htan_cds.server.portal.api import file_record, refusal, visible_summary
from htan_cds.server.portal.manifests import DEFAULT_FORMAT, FORMATS
from htan_cds.server.portal.state import portal_state, use_catalog, visibility
from htan_cds.units import format_size, summary_size

PORTAL_DIR = Path(__file__).resolve().parent
STATIC_DIR = PORTAL_DIR / "static"
STATIC_PREFIX = "/portal/static"
_IMAGE_FORMATS = frozenset({"OME-TIFF", "TIFF", "SVS", "OME-TIF", "PNG", "JPEG"})
_IMAGE_SUFFIXES = (".ome.tif", ".ome.tiff", ".tif", ".tiff", ".svs")


class _PageRoute(APIRoute):
    """A page route that shows an htan-cds error (no catalog, bad link) as a page, not a 500."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except HtanCdsError as exc:
                status = getattr(exc, "status_code", None)
                if not isinstance(status, int) or not 400 <= status < 600:
                    status = 503 if isinstance(exc, CatalogError) else 400
                return render(request, "error.html", {"message": str(exc)}, status=status)

        return guarded


router = APIRouter(include_in_schema=False, route_class=_PageRoute)
CatalogDep = Depends(use_catalog)
templates = Jinja2Templates(directory=str(PORTAL_DIR / "templates"))


def human_size(value: Any) -> str:
    """Bytes in the one unit system of htan-cds (IEC: KiB, MiB, GiB; see :mod:`htan_cds.units`),
    ``unknown`` when the size is not known."""
    return format_size(value)


def thousands(value: Any) -> str:
    """An integer with thousands separators."""
    return f"{int(value):,}" if value is not None else "—"


@lru_cache(maxsize=1)
def _asset_version() -> str:
    # Content hash of the static files: browsers refetch exactly when an asset changed.
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(STATIC_DIR.rglob("*")):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def asset(path: str) -> str:
    """URL of a static asset with a cache-busting version."""
    return f"{STATIC_PREFIX}/{path}?v={_asset_version()}"


templates.env.filters["human_size"] = human_size
templates.env.filters["summary_size"] = summary_size
templates.env.filters["thousands"] = thousands
templates.env.globals["asset"] = asset
templates.env.globals["version"] = __version__


def _explore_link(**facets: str) -> str:
    return "/explore?" + urlencode(facets)


templates.env.globals["explore_link"] = _explore_link


# Catalog sources (``commons_meta.source``) whose files were generated, not collected: the demo
# (``demo seed=N``) and the metadata-only scale catalogs (``synthetic scale=…``).
_SYNTHETIC_SOURCES = ("demo", "synthetic")


def _synthetic_source(request: Request) -> str | None:
    """The catalog's source when its data are synthetic (every page then says so)."""
    lease = portal_state(request).lease

    def compute() -> str | None:
        try:
            with lease.use() as catalog:
                source = catalog.get_meta("source") or ""
        except HtanCdsError:
            return None
        return source if source.startswith(_SYNTHETIC_SOURCES) else None

    found: str | None = lease.remember("synthetic_source", compute)
    return found


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    """The page template ``name`` rendered with ``context`` (and the page name, the banner)."""
    base = {"page": name.removesuffix(".html"), "synthetic_source": _synthetic_source(request)}
    response: HTMLResponse = templates.TemplateResponse(
        request, name, {**base, **context}, status_code=status
    )
    return response


def missing_page(request: Request) -> HTMLResponse:
    """The portal's 404 page for a browser asking for a path nothing serves (see
    :func:`htan_cds.server.errors.prefers_html`; API clients still get the JSON error)."""
    return render(request, "not_found.html", {"drs_id": None, "path": request.url.path}, status=404)


@router.get("/", response_class=HTMLResponse)
def landing(request: Request, catalog: Catalog = CatalogDep) -> HTMLResponse:
    """What the commons holds, per study, and the "Explore Data" button."""
    vis = visibility(request, catalog)
    summary = visible_summary(catalog, FileFilter(), vis)
    lease = portal_state(request).lease
    studies = lease.remember(
        f"landing_overview:{vis.sql}:{vis.params}",
        lambda: queries.landing_overview(catalog, vis.condition),
    )
    facets = catalog.facets(FileFilter())
    return render(
        request,
        "landing.html",
        {
            "summary": summary,
            "studies": studies,
            "assays": facets.get("assay", [])[:12],
            "centers": facets.get("center", []),
        },
    )


@router.get("/explore", response_class=HTMLResponse)
def explore(request: Request) -> HTMLResponse:
    """The Data Explorer shell (facets, summary, tabs are filled by ``explore.js``)."""
    return render(request, "explore.html", {})


@router.get("/cart", response_class=HTMLResponse)
def cart(request: Request) -> HTMLResponse:
    """The cart page with the "Available Export Options"."""
    state = portal_state(request)
    return render(
        request,
        "cart.html",
        {
            "formats": list(FORMATS.values()),
            "default_format": DEFAULT_FORMAT,
            "export_target": state.export_target,
            "export_ttl": state.export_ttl,
        },
    )


def _is_image(record: dict[str, Any]) -> bool:
    if record.get("imaging"):
        return True
    fmt = str(record.get("File_Format") or "").upper()
    name = str(record.get("name") or "").lower()
    return fmt in _IMAGE_FORMATS or name.endswith(_IMAGE_SUFFIXES)


@router.get("/file/{drs_id:path}", response_class=HTMLResponse)
def file_detail(request: Request, drs_id: str, catalog: Catalog = CatalogDep) -> HTMLResponse:
    """One file: metadata, DRS URI, checksums, and for images a thumbnail and the channels."""
    record = file_record(catalog, drs_id, portal_state(request).authority)
    if record is None:
        return render(request, "not_found.html", {"drs_id": drs_id}, status=404)
    refused = refusal(record, visibility(request, catalog))
    if refused is not None:
        status, message = refused
        return render(request, "error.html", {"message": message}, status=status)
    return render(
        request,
        "file.html",
        {
            "file": record,
            "is_image": _is_image(record),
            "thumbnail_url": f"/thumbnails/{quote(drs_id, safe='/')}.png",
            **_resolution(request, record),
        },
    )


def _resolution(request: Request, record: dict[str, Any]) -> dict[str, Any]:
    """Where the file's DRS URI resolves: its own DRS server (CRDC's for real HTAN files), this
    server only for the files this commons serves (``drs_host`` NULL).

    ``drs_object_url`` is ``None`` when the stored URI cannot be resolved as written (a compact
    URI of a prefix no registry knows); the page then says so instead of pointing anywhere.
    """
    from htan_cds.drs.uri import normalize_drs_uri

    if not record.get("drs_host"):
        base = portal_state(request).config.base_url
        path = f"/ga4gh/drs/v1/objects/{quote(str(record['drs_id']), safe='/')}"
        return {"drs_object_url": base + path, "drs_server": "this commons serves it"}
    try:
        uri = normalize_drs_uri(str(record.get("drs_uri") or ""))
    except HtanCdsError:
        return {"drs_object_url": None, "drs_server": record.get("drs_host")}
    return {
        "drs_object_url": uri.resolution_url(),
        "drs_server": f"the file's own DRS server, {uri.authority}",
    }


@router.get("/signin", response_class=HTMLResponse)
def signin(request: Request) -> HTMLResponse:
    """Sign in with a token (form to ``POST /session``, :mod:`htan_cds.server.session`)."""
    nxt = request.query_params.get("next") or "/explore"
    if not nxt.startswith("/") or nxt.startswith("//") or "\\" in nxt:
        nxt = "/explore"
    failed = request.query_params.get("signin") == "failed"
    return render(request, "signin.html", {"next": nxt, "failed": failed})
