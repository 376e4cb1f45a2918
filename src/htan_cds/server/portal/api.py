"""The explorer's JSON API under ``/api``: summary, facets, sorted pages, file detail, the cart.

Filters arrive as repeated query parameters named like :class:`FileFilter` fields
(``?atlas=HTAN+HTAPP&assay=CyCIF&assay=t-CyCIF``) — the same names the explorer's URL uses.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from htan_cds.catalog import Catalog
from htan_cds.catalog.filters import FileFilter, where_clause
from htan_cds.errors import UsageError
from htan_cds.server.access import can_see
from htan_cds.server.limits import parse_json
from htan_cds.server.portal import queries
from htan_cds.server.portal.cart import Cart
from htan_cds.server.portal.manifests import DEFAULT_FORMAT, FORMATS
from htan_cds.server.portal.params import (
    FACETS,
    TABLE_COLUMNS,
    filter_from_items,
    parse_page,
)
from htan_cds.server.portal.state import (
    FastJSONResponse,
    PortalRoute,
    json_error,
    portal_state,
    use_catalog,
    visibility,
)
from htan_cds.server.portal.visibility import Visibility

router = APIRouter(prefix="/api", route_class=PortalRoute, default_response_class=FastJSONResponse)
CatalogDep = Depends(use_catalog)

# Facets whose values have a natural order better than "most files first".
_ORDERED_FACETS = frozenset({"level", "release"})


def request_filter(request: Request) -> FileFilter:
    """The :class:`FileFilter` spelled by the request's query string."""
    return filter_from_items(request.query_params.multi_items())


def visible_summary(catalog: Catalog, flt: FileFilter, vis: Visibility) -> dict[str, int | None]:
    """The catalog's summary under ``flt`` as ``vis``'s caller may see it.

    ``files``, ``participants`` and ``samples`` count every file (controlled ones too);
    ``listed_files`` is how many of those the caller may list, ``hidden_files`` the rest, and
    ``total_size`` adds only the listed files' sizes. Answered from the facet cube or memo when
    the catalog can.
    """
    restriction = vis.search_restriction(flt)
    result = dict(catalog.summary(flt, restriction))
    hidden_files = hidden_size = 0
    # A search on identifying fields matched visible files only: nothing of it is hidden (and
    # counting hidden matches would tell whether a guessed name or id exists).
    if not vis.everything and restriction is None:
        hidden_files, hidden_size = catalog.totals(
            flt, vis.hidden, cube_columns_only=vis.cube_columns_only
        )
    if result["total_size"] is not None:  # None: no size known (exports without sizes)
        result["total_size"] = max(0, int(result["total_size"]) - hidden_size)
    result["listed_files"] = int(result["files"] or 0) - hidden_files
    result["hidden_files"] = hidden_files
    return result


@router.get("/summary")
def api_summary(request: Request, catalog: Catalog = CatalogDep) -> dict[str, Any]:
    """Participants, samples, files and total size under the filter (see visible_summary)."""
    flt = request_filter(request)
    resolution = catalog.resolve(flt)
    return {
        "filter": flt.to_dict(),
        "unmatched": [u.to_dict() for u in resolution.unmatched],
        **visible_summary(catalog, resolution.filter, visibility(request, catalog)),
    }


@router.get("/facets")
def api_facets(request: Request, catalog: Catalog = CatalogDep) -> dict[str, Any]:
    """Every sidebar facet with its values and file counts under the *other* selections.

    Controlled files are counted; a search on identifying fields counts only visible files.
    """
    # Selected values in the catalog's spelling, so "assay=he" ticks the H&E box.
    flt = catalog.resolve(request_filter(request)).filter
    counts = catalog.facets(flt, visibility(request, catalog).search_restriction(flt))
    facets = []
    for name, label in FACETS:
        values = list(counts.get(name, []))
        selected = getattr(flt, name) or []
        present = {v for v, _ in values}
        # A selected value the other facets exclude still shows (count 0) so it can be cleared.
        values.extend((v, 0) for v in selected if v not in present)
        if name in _ORDERED_FACETS:
            values.sort(key=lambda item: item[0])
        facets.append(
            {
                "name": name,
                "label": label,
                "selected": selected,
                "values": [{"value": v, "count": n} for v, n in values],
            }
        )
    return {"filter": flt.to_dict(), "facets": facets}


def _table(request: Request, catalog: Catalog, table: str) -> dict[str, Any]:
    params = request.query_params
    page = parse_page(
        table, params.get("sort"), params.get("order"), params.get("offset"), params.get("limit")
    )
    flt = catalog.resolve(request_filter(request)).filter
    vis = visibility(request, catalog)
    selection = where_clause(flt)
    if table == "files":
        # Only files the caller may see are listed (and sorted: a sort must not place them).
        return queries.files_page(
            catalog, vis.restrict(selection), page, portal_state(request).authority
        )
    restriction = vis.search_restriction(flt)
    if restriction is not None:
        selection = vis.restrict(selection)
    # The summary's counts are these tables' totals (and cheap: cube or memo).
    total = int(catalog.summary(flt, restriction)[table] or 0)
    if table == "participants":
        return queries.participants_page(catalog, selection, page, total, vis.condition)
    return queries.samples_page(catalog, selection, page, total, vis.condition)


@router.get("/files")
def api_files(request: Request, catalog: Catalog = CatalogDep) -> dict[str, Any]:
    """A sorted page of files: ``?sort=size&order=desc&offset=0&limit=25`` plus filters."""
    return _table(request, catalog, "files")


@router.get("/participants")
def api_participants(request: Request, catalog: Catalog = CatalogDep) -> dict[str, Any]:
    """A sorted page of participants having files under the filter."""
    return _table(request, catalog, "participants")


@router.get("/samples")
def api_samples(request: Request, catalog: Catalog = CatalogDep) -> dict[str, Any]:
    """A sorted page of samples (biospecimens) of files under the filter."""
    return _table(request, catalog, "samples")


@router.get("/columns")
def api_columns() -> dict[str, Any]:
    """The sortable columns of each table, with their labels."""
    return {
        table: [{"key": c.key, "label": c.label} for c in columns.values()]
        for table, columns in TABLE_COLUMNS.items()
    }


@router.get("/file/{drs_id:path}", response_model=None)
def api_file(
    request: Request, drs_id: str, catalog: Catalog = CatalogDep
) -> Response | dict[str, Any]:
    """One file with its imaging metadata and channels (401/403 for a controlled file)."""
    record = file_record(catalog, drs_id, portal_state(request).authority)
    if record is None:
        return json_error(404, f"no file {drs_id!r} in this commons")
    refused = refusal(record, visibility(request, catalog))
    if refused is not None:
        return json_error(*refused)
    return record


def refusal(record: dict[str, Any], vis: Visibility) -> tuple[int, str] | None:
    """``(status, message)`` when ``vis``'s caller may not see ``record``, else None.

    As the DRS API answers: 401 without credentials, 403 when they hold no covering grant; the
    message names no field of the file.
    """
    if vis.everything or can_see(record, vis.caller):
        return None
    if not vis.caller.authenticated:
        return 401, "this file is controlled: sign in with a token whose grants cover it"
    return 403, "this file is controlled and your grants do not cover it"


def file_record(catalog: Catalog, drs_id: str, authority: str) -> dict[str, Any] | None:
    """:meth:`Catalog.get_file` with the DRS URI naming this server for files it serves."""
    from htan_cds.catalog.links import viewer_links

    record = catalog.get_file(drs_id)
    if record is not None:
        record["drs_uri"] = queries.local_drs_uri(catalog, drs_id, authority)
        record["viewer_links"] = viewer_links(record)
    return record


@router.get("/config")
def api_config(request: Request) -> dict[str, Any]:
    """What the cart page needs to know: export target, signed URL lifetime, formats."""
    state = portal_state(request)
    return {
        "export_target": state.export_target,
        "export_ttl": state.export_ttl,
        "default_format": DEFAULT_FORMAT,
        "formats": [{"name": f.name, "label": f.label} for f in FORMATS.values()],
    }


async def _cart_body(request: Request) -> tuple[Cart, dict[str, Any]]:
    body = parse_json(await request.body())
    if not isinstance(body, dict):
        raise UsageError('send {"cart": {...}} as the JSON body')
    return Cart.from_json(body.get("cart") or {}), body


@router.post("/cart/summary")
async def api_cart_summary(request: Request, catalog: Catalog = CatalogDep) -> dict[str, Any]:
    """Participants, samples, files and total size of the cart."""
    cart, _ = await _cart_body(request)
    vis = await run_in_threadpool(visibility, request, catalog)
    # DuckDB work leaves the event loop free, like the sync routes' thread pool does.
    result: dict[str, Any] = await run_in_threadpool(
        queries.summary, catalog, vis.restrict(cart.where(catalog))
    )
    return result


@router.post("/cart/citations")
async def api_cart_citations(request: Request, catalog: Catalog = CatalogDep) -> dict[str, Any]:
    """Citations and DOIs of the collections behind the cart (see :mod:`htan_cds.catalog.cite`)."""
    from htan_cds.catalog.cite import collect_where, render_text

    cart, _ = await _cart_body(request)
    vis = await run_in_threadpool(visibility, request, catalog)
    where, params = vis.restrict(cart.where(catalog))  # the files the caller may list
    result = await run_in_threadpool(collect_where, catalog, where, params)
    return {**result, "text": render_text(result["collections"])}


@router.post("/cart/files")
async def api_cart_files(request: Request, catalog: Catalog = CatalogDep) -> dict[str, Any]:
    """A sorted page of the cart's files (body: ``{cart, sort, order, offset, limit}``)."""
    cart, body = await _cart_body(request)
    page = parse_page(
        "files", body.get("sort"), body.get("order"), body.get("offset"), body.get("limit")
    )
    authority = portal_state(request).authority
    vis = await run_in_threadpool(visibility, request, catalog)
    result: dict[str, Any] = await run_in_threadpool(
        queries.files_page, catalog, vis.restrict(cart.where(catalog)), page, authority
    )
    return result
