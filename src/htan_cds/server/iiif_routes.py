"""IIIF Image API 3.0 at ``/iiif/3/{identifier}`` (a ``create_app`` extension).

The identifier is the object's DRS id with its slash percent-encoded (``dg.HCDS%2F<uuid>``, §3);
an unencoded slash is accepted too. An object's alias (its HTAN Data File ID, listed in the
DRS object's ``aliases``) is accepted when no DRS id matches and exactly one object has it:
that is how the IIIF validator's fixed identifier reaches its test image (docs/viewer.md).

Requests (https://iiif.io/api/image/3.0/):

- ``{id}``: 303 to ``{id}/info.json`` (§2);
- ``{id}/info.json``: image information (§5), JSON-LD when asked (``Accept``);
- ``{id}/{region}/{size}/{rotation}/{quality}.{format}``: jpg or png (§4), with the
  multi-channel extension's query parameters (:mod:`htan_cds.imaging.display`);
- ``{id}/channels.json``: the viewer's channel document (extension, linked from info.json).

Access is decided exactly as for the object's bytes and thumbnails: open objects for anyone,
controlled ones for a caller whose grants cover the consent group — a bearer token, or the
portal's session cookie (:mod:`htan_cds.server.session`); 401 without a credential, 403 with one
that does not cover it, before anything about the image is read.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from htan_cds.errors import HtanCdsError, ImagingError
from htan_cds.imaging import iiif
from htan_cds.imaging.region_reader import ImageRequestError
from htan_cds.imaging.sources import LocalByteSource
from htan_cds.imaging.tile_cache import TileCache
from htan_cds.server.image_readers import OpenImage, ReaderCache, is_image_name

if TYPE_CHECKING:
    from fastapi import FastAPI

    from htan_cds.imaging.display import ChannelDisplay, Range

_log = logging.getLogger("htan_cds.viewer")
PREFIX = "/iiif/3/"
PROFILE_LINK = f'<http://iiif.io/api/image/3/{iiif.PROFILE}.json>;rel="profile"'
MAX_PATH_SEGMENTS = 64
TILE_CACHE_HEADER = "X-Tile-Cache"  # hit or miss: whether the body came from the tile cache
_STARTED = "htan_cds.iiif_started"  # scope key: perf_counter() when the IIIF route was reached
# A render answered on the event loop decodes at most this many samples (8 tiles of 256 x 256,
# ~2 ms of CPU here) into at most this many output pixels; larger ones go to a worker thread.
INLINE_MAX_SAMPLES = 1 << 19
INLINE_MAX_PIXELS = 512 * 512


class _Deferred(Exception):
    """Raised by :func:`handle` on the event loop where answering would need work that may
    block or take long (open an image, reload the catalog, compute display ranges, a large
    render): the request is then answered from the start in a worker thread."""


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"msg": message, "status_code": status}, status, headers=headers)


def _segments(request: Request) -> list[str] | None:
    """Path segments after ``/iiif/3/``, split on literal slashes *before* decoding (§3)."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    path = raw.decode("latin-1")
    if not path.startswith(PREFIX):
        return None
    parts = path[len(PREFIX) :].split("/")
    if len(parts) > MAX_PATH_SEGMENTS:
        return None
    return [unquote(p, errors="strict") for p in parts]


class _Aliases:
    """alias -> DRS id for aliases that name exactly one object, per catalog snapshot."""

    def __init__(self) -> None:
        self._for: Any = None
        self._map: dict[str, str] = {}
        self._lock = threading.Lock()

    def lookup(self, snapshot: Any, alias: str) -> str | None:
        with self._lock:
            if self._for is not snapshot:
                seen: dict[str, list[str]] = {}
                for rec in snapshot.files.values():
                    for name in rec.aliases:
                        seen.setdefault(name, []).append(rec.drs_id)
                self._map = {k: v[0] for k, v in seen.items() if len(v) == 1}
                self._for = snapshot
            return self._map.get(alias)


def _record(app: Any, identifier: str, inline: bool) -> Any:
    repo = app.state.drs.repo
    snapshot = repo.snapshot_nowait() if inline else repo.snapshot()
    if snapshot is None:
        raise _Deferred
    record = snapshot.files.get(identifier)
    if record is None:
        if inline:  # the alias index may have to be rebuilt
            raise _Deferred
        drs_id = app.state.iiif_aliases.lookup(snapshot, identifier)
        record = snapshot.files.get(drs_id) if drs_id else None
    return record


def _refused(request: Request, record: Any) -> Response | None:
    """401/403 unless the caller may read ``record``'s bytes (same rule as /bytes, thumbnails)."""
    from htan_cds.server.access import decide
    from htan_cds.server.session import request_caller

    caller = request_caller(request)
    refused = 401 if caller is None else decide(record.groups, caller)
    if refused is None:
        return None
    headers = {"WWW-Authenticate": "Bearer"} if refused == 401 else None
    return _error(refused, "not authorised for this object", headers)


def _service_id(app: Any, identifier: str) -> str:
    base: str = app.state.config.base_url
    return f"{base}{PREFIX}{quote(identifier, safe='')}"


def _info(request: Request, item: OpenImage, identifier: str) -> Response:
    reader = item.reader
    level0 = reader.levels[0]
    tile = reader.levels[0].tile_width or 0
    tile = tile if 128 <= tile <= 1024 else 256
    service_id = _service_id(request.app, identifier)
    doc = iiif.info_document(
        service_id,
        level0.width,
        level0.height,
        tile,
        services=[
            {
                "id": f"{service_id}/channels.json",
                "type": "htan-cds:Channels",
                "profile": "htan-cds-channels",  # docs/viewer.md, "channels.json"
                "label": {"en": ["channels, colours and display ranges"]},
            }
        ],
    )
    accept = request.headers.get("accept", "")
    media = (
        f'application/ld+json;profile="{iiif.CONTEXT}"'
        if "application/ld+json" in accept
        else "application/json"
    )
    return JSONResponse(doc, media_type=media, headers=_cache_headers(request))


def _cache_headers(request: Request) -> dict[str, str]:
    controlled = request.scope.get("htan_controlled", False)
    return {"Cache-Control": "private, max-age=3600" if controlled else "public, max-age=3600"}


def _image(
    request: Request, item: OpenImage, identifier: str, parts: list[str], inline: bool
) -> Response:
    """A rendered region, from the rendered-tile cache when the same object, region, size,
    rotation, quality, format and channel display were rendered before. ``handle`` has
    checked access before this runs, so the cache never answers an unchecked request."""
    region_text, size_text, rotation_text, tail = parts
    req = iiif.parse_image_request(region_text, size_text, rotation_text, tail)
    reader = item.reader
    width, height = reader.levels[0].width, reader.levels[0].height
    box = iiif.parse_region(req.region, width, height)
    out_w, out_h = iiif.parse_size(req.size, box)
    params = request.query_params
    z = _int_param(params.get("z"), "z")
    t = _int_param(params.get("t"), "t")
    render = _rgb_render(item, inline) if reader.rgb else _channel_render(request, item, inline)
    rotation = (req.rotation.mirror, req.rotation.degrees)
    key: tuple[Any, ...] = (item.object_key, record_id(request), box, out_w, out_h, rotation)
    key += (req.quality, req.format, z, t, render)
    tiles: TileCache = request.app.state.rendered_tiles
    body = tiles.get(key)
    state = "hit"
    if body is None:
        state = "miss"
        plan = _small(reader, req, box, out_w, out_h, render) if inline else None
        if inline and plan is None:
            raise _Deferred
        body = iiif.finish(_render(reader, box, out_w, out_h, render, z, t, plan), req)
        tiles.put(key, body)
    canonical = (
        f"{_service_id(request.app, identifier)}/{iiif.canonical_region(box, width, height)}/"
        f"{iiif.canonical_size(out_w, out_h, box, width, height)}/{rotation_text}/"
        f"{req.quality}.{req.format}"
    )
    took = (time.perf_counter() - request.scope[_STARTED]) * 1000
    headers = {
        **_cache_headers(request),
        "Link": f'<{canonical}>;rel="canonical", {PROFILE_LINK}',
        TILE_CACHE_HEADER: state,
        # W3C Server Timing: the app's own time for this image, from the request's arrival at
        # the IIIF route to the encoded body (HTTP parsing and sending not included).
        "Server-Timing": f'tile;dur={took:.3f};desc="{state}"',
    }
    return Response(body, media_type=iiif.FORMATS[req.format], headers=headers)


def _small(reader: Any, req: Any, box: Any, out_w: int, out_h: int, render: Any) -> Any:
    """The render's read plan if it is cheap enough for the event loop (a JPEG at a right
    angle from a local file, within :data:`INLINE_MAX_PIXELS` and :data:`INLINE_MAX_SAMPLES`),
    else None."""
    from htan_cds.imaging.tiles import plan_read

    if not isinstance(reader.source, LocalByteSource) or out_w * out_h > INLINE_MAX_PIXELS:
        return None
    if req.format != "jpg" or req.rotation.degrees % 90:
        return None
    planes = 1 if render[0] == "rgb" else len(render[1])
    plan = plan_read(reader, box, out_w, out_h, planes)
    return plan if reader.cost(plan.level, planes, plan.ys, plan.xs) <= INLINE_MAX_SAMPLES else None


def _ranges(item: OpenImage, inline: bool, wanted: list[int] | None = None) -> dict[int, Any]:
    """Automatic display ranges; on the event loop only those known already."""
    if not inline:
        return ReaderCache.ranges(item, wanted)
    known = item.ranges.known(item.reader, wanted)
    if known is None:
        raise _Deferred
    return known


def _rgb_render(item: OpenImage, inline: bool) -> tuple[str, tuple[Range, ...] | None]:
    """How an RGB image is shown: as stored (8-bit), else stretched per sample."""
    if item.reader.dtype.name == "uint8":
        return ("rgb", None)
    samples = _ranges(item, inline)
    return ("rgb", tuple(samples[k] for k in sorted(samples)))


def _channel_render(
    request: Request, item: OpenImage, inline: bool
) -> tuple[str, tuple[ChannelDisplay, ...]]:
    """The channel displays the request's query parameters select (docs/viewer.md)."""
    from htan_cds.imaging.display import displays_from_params
    from htan_cds.server.iiif_channels import named_info

    params = request.query_params
    selectors = (params.get("channels") or "").split(",")
    by_index = all(s.strip().isdigit() or not s.strip() for s in selectors)
    # Names (and the catalog lookup of the channel CSV) only when a selector needs them.
    if by_index:
        info = item.reader.info
    elif inline and item.named_info is None:
        raise _Deferred
    else:
        info = named_info(request.app, item, record_id(request))
    displays = displays_from_params(params, info, lambda wanted: _ranges(item, inline, wanted))
    return ("channels", tuple(displays))


def _render(
    reader: Any,
    box: Any,
    out_w: int,
    out_h: int,
    render: tuple[str, Any],
    z: Any,
    t: Any,
    plan: Any = None,
) -> Any:
    from htan_cds.imaging.tiles import render_region

    kind, spec = render
    if kind == "rgb":
        ranges = list(spec) if spec is not None else None
        return render_region(
            reader, box, out_w, out_h, None, z=z, t=t, rgb_ranges=ranges, plan=plan
        )
    return render_region(reader, box, out_w, out_h, list(spec), z=z, t=t, plan=plan)


def record_id(request: Request) -> str:
    return str(request.scope.get("htan_drs_id", ""))


def _int_param(value: str | None, name: str) -> int | None:
    if value is None or value == "":
        return None
    if not value.isdigit():
        raise iiif.IiifError(400, f"{name} must be a non-negative integer")
    return int(value)


@contextlib.contextmanager
def _lease(app: Any, record: Any, inline: bool) -> Iterator[OpenImage]:
    readers: ReaderCache = app.state.image_readers
    if not inline:
        with readers.lease(app, record) as item:
            yield item
        return
    with readers.lease_open(record) as open_item:
        if open_item is None:
            raise _Deferred
        yield open_item


def handle(request: Request, *, inline: bool = False) -> Response:
    """Answer one IIIF request. ``inline``: on the event loop, where anything that may block or
    take long raises :class:`_Deferred` (the caller then runs this again in a worker thread)."""
    request.scope.setdefault(_STARTED, time.perf_counter())  # a deferred request keeps its start
    app = request.app
    try:
        segments = _segments(request)
    except UnicodeDecodeError:
        return _error(400, "identifier is not valid percent-encoded UTF-8")
    if not segments or not segments[0]:
        return _error(404, "no identifier")
    kind = "base"
    if len(segments) >= 2 and segments[-1] in ("info.json", "channels.json"):
        kind, identifier = segments[-1], "/".join(segments[:-1])
    elif len(segments) >= 5 and "." in segments[-1]:
        kind, identifier = "image", "/".join(segments[:-4])
    else:
        identifier = "/".join(segments)
    record = _record(app, identifier, inline)
    if record is None or not record.object_key:
        return _error(404, "no such image")
    refused = _refused(request, record)
    if refused is not None:
        return refused
    if not is_image_name(record.name):
        return _error(404, "the object is not an image")
    request.scope["htan_controlled"] = record.controlled
    request.scope["htan_drs_id"] = record.drs_id
    if kind == "base":
        return RedirectResponse(_service_id(app, identifier) + "/info.json", status_code=303)
    if kind == "channels.json" and inline:  # may read the catalog and compute every range
        raise _Deferred
    try:
        with _lease(app, record, inline) as item:
            if kind == "info.json":
                return _info(request, item, identifier)
            if kind == "channels.json":
                from htan_cds.server.iiif_channels import channels_document

                doc = channels_document(app, item, record.drs_id, _service_id(app, identifier))
                return JSONResponse(doc, headers=_cache_headers(request))
            return _image(request, item, identifier, segments[-4:], inline)
    except iiif.IiifError as exc:
        return _error(exc.status, exc.message)
    except ImageRequestError as exc:
        return _error(400, exc.message)
    except ImagingError as exc:
        _log.info("IIIF %s: %s", request.url.path, exc)
        return _error(422, f"the image cannot be rendered: {exc.message}")
    except HtanCdsError as exc:
        _log.warning("IIIF %s: %s", request.url.path, exc)
        return _error(404, "the image's bytes cannot be read here")


_WARM_MODULES = (
    "anyio._backends._asyncio",  # the thread pool's backend, imported by the first hop
    "numpy.ma",  # np.percentile (automatic ranges) imports it on first use: ~0.2 s
    "tifffile",
    "htan_cds.imaging.tiles",
    "htan_cds.imaging.readers",
    "htan_cds.imaging.tiff",
    "htan_cds.imaging.ome",
    "htan_cds.imaging.display",
    "htan_cds.imaging.iiif",
    "htan_cds.imaging.decode",
    "htan_cds.server.iiif_channels",
    "ome_types",  # about a second of CPU: pydantic builds its ~110 model classes
    "imagecodecs",
    "PIL.JpegImagePlugin",
    "PIL.PngImagePlugin",
)
# imagecodecs loads each codec's extension module on first attribute access.
_WARM_CODECS = ("jpeg8_encode", "deflate_decode", "zlib_decode", "delta_decode", "lzw_decode")
# The smallest valid OME-XML: parsing it builds xsdata's metadata of the classes every OME-TIFF
# uses (OME, Image, Pixels, Channel, TiffData), ~50 ms a first view would otherwise pay.
_WARM_OME = (
    '<OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06"><Image ID="Image:0">'
    '<Pixels ID="Pixels:0" DimensionOrder="XYCZT" Type="uint16" SizeX="1" SizeY="1" SizeC="1" '
    'SizeZ="1" SizeT="1"><Channel ID="Channel:0:0" SamplesPerPixel="1"/><TiffData/></Pixels>'
    "</Image></OME>"
)


def _preload() -> None:
    """Do before a first view comes what it would otherwise do first: import the modules it
    needs, load the codecs, build the OME-XML parser's class metadata and compute one
    percentile (each a one-off cost of the process, together ~1.5 s of CPU)."""
    import importlib

    for name in _WARM_MODULES:
        try:
            importlib.import_module(name)
        except Exception as exc:  # a missing optional codec surfaces on the request instead
            _log.debug("preloading %s failed: %s", name, exc)
    try:
        import imagecodecs
        import numpy as np

        from htan_cds.imaging.ome import parse_ome_xml

        for codec in _WARM_CODECS:
            getattr(imagecodecs, codec, None)
        np.percentile(np.arange(4, dtype=np.uint16), (1.0, 99.5))
        parse_ome_xml(_WARM_OME, source="warm-up")
    except Exception as exc:  # warming only: the first request does it again if it failed
        _log.debug("warming the image path failed: %s", exc)


_preload_started = threading.Event()


def start_preload() -> None:
    """Run :func:`_preload` once per process, in a background thread: the server answers at
    once, and a first view finds the work done. :func:`htan_cds.server.app.serve` calls this
    before building the app, so the warm-up overlaps the whole start-up."""
    if _preload_started.is_set():
        return
    _preload_started.set()
    thread = threading.Thread(target=_preload, name="iiif-preload", daemon=True)
    thread.start()
    # A process that ends while the thread still imports (serve refusing a bad option right
    # after it started) could abort in the interpreter's shutdown (SIGABRT, exit code 134
    # instead of 2): let the warm-up end first, for at most 10 s.
    atexit.register(thread.join, 10.0)


def mount(app: FastAPI, config: Any) -> None:
    """Add ``GET /iiif/3/...`` to ``app``, with its reader cache and alias index."""
    app.state.image_readers = ReaderCache(config.home)
    app.state.iiif_aliases = _Aliases()
    app.state.rendered_tiles = TileCache()
    start_preload()  # usually started already by serve(), at the start of the start-up

    # A plain def: FastAPI runs it in its thread pool, so decoding never blocks the loop. This
    # route documents the service in the OpenAPI schema; requests are answered by the plain
    # route put first below, which reaches the same handler without FastAPI's parameter
    # solving and after no scan of the other routes (0.9 of 1.0 ms CPU of a cached tile).
    def iiif_request(request: Request, path: str) -> Response:
        del path  # parsed from the raw path, where %2F is still one segment
        return handle(request)

    app.add_api_route(
        PREFIX + "{path:path}",
        iiif_request,
        methods=["GET"],
        include_in_schema=True,
        summary="IIIF Image API 3.0 (info.json, tiles; multi-channel query extension)",
        response_model=None,
        name="iiif",
    )
    app.router.routes.insert(0, Route(PREFIX + "{path:path}", _endpoint, methods=["GET"]))


async def _endpoint(request: Request) -> Response:
    """The IIIF route's ASGI endpoint: :func:`handle` on the event loop when the answer is at
    hand or cheap (a cached tile, a small render of an open image), else in the thread pool.
    A hop to a worker thread and back costs ~0.3 ms here, and under load waits for the OS to
    schedule the worker (p95 3-5 ms at load 4 on 2 cores) - more than a small tile's render."""
    try:
        return handle(request, inline=True)
    except _Deferred:
        return await run_in_threadpool(handle, request)
