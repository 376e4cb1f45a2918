"""Signed URLs that end in the file's name, for viewers that judge a file by its URL.

Avivator (hms-dbmi/viv, ``avivator/src/utils.js``) opens ``?image_url=URL`` as an OME-TIFF only
when the URL contains ``ome.tif``, and first fetches ``URL`` with ``ome.tif(f)`` replaced by
``offsets.json`` (its IFD offsets file; without one it walks every IFD over the network, which
is what makes 40+ channel CyCIF files unusable). So:

- ``GET /named/{id}/{file name}?expires=…&sig=…``: 307 to the object's bytes — a signed
  ``/bytes/{id}`` URL with the same expiry on the local store, a presigned URL on S3 — so the
  bytes route keeps its Range, ETag and zero-copy handling;
- ``GET /named/{id}/{name with ome.tif → offsets.json}?…`` (same signature): the byte offsets
  of every top-level IFD as a JSON list, the format of viv's ``createOffsetsProxy``
  (``src/loaders/tiff/lib/proxies``), computed once per object content.

``{id}`` is the DRS id percent-encoded as one path segment. The signature covers
``GET /named/{id}/`` and the expiry (``server/signing.py``), so it is not tied to the name and
the offsets URL Avivator derives is valid too; it names one object and cannot be moved.
URLs are minted only for callers who may read the object (the viewer page).
"""

from __future__ import annotations

import re
import struct
import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from htan_cds.drs.uri import encode_object_id
from htan_cds.errors import HtanCdsError
from htan_cds.server.service import BYTES_PREFIX
from htan_cds.server.signing import sign, verify

if TYPE_CHECKING:
    from fastapi import FastAPI

NAMED_PREFIX = "/named/"
AVIVATOR_URL = "https://avivator.gehlenborglab.org/"
_OME_TIFF = re.compile(r"ome\.tif(f?)", re.IGNORECASE)  # Avivator's own pattern
_MAX_OFFSETS = 1_000_000


def offsets_name(name: str) -> str | None:
    """The offsets file name Avivator derives from ``name`` (None if it is no OME-TIFF)."""
    return _OME_TIFF.sub("offsets.json", name) if _OME_TIFF.search(name) else None


def _signed_path(drs_id: str) -> str:
    return f"{NAMED_PREFIX}{quote(drs_id, safe='')}/"


def named_url(base_url: str, key: bytes, drs_id: str, name: str, ttl: int) -> str:
    """A signed URL for ``drs_id``'s bytes whose path ends in ``name``, valid ``ttl`` seconds."""
    expires = int(time.time()) + int(ttl)
    path = _signed_path(drs_id)
    query = urlencode({"expires": expires, "sig": sign(key, path, expires)})
    return f"{base_url.rstrip('/')}{path}{quote(name)}?{query}"


def avivator_link(base_url: str, key: bytes, drs_id: str, name: str, ttl: int) -> str:
    """``AVIVATOR_URL?image_url=<named signed URL>`` for an OME-TIFF."""
    return (
        AVIVATOR_URL + "?" + urlencode({"image_url": named_url(base_url, key, drs_id, name, ttl)})
    )


def _error(status: int, message: str) -> Response:
    return JSONResponse({"msg": message, "status_code": status}, status)


class _Offsets:
    """IFD offsets by object content (sha-256 key), computed once."""

    def __init__(self) -> None:
        self._cache: dict[str, list[int]] = {}
        self._lock = threading.Lock()

    def get(self, object_key: str, source: str) -> list[int]:
        with self._lock:
            cached = self._cache.get(object_key)
        if cached is not None:
            return cached
        from htan_cds.imaging.sources import open_source

        byte_source, _, _ = open_source(source, None)
        try:
            offsets = ifd_offsets(byte_source.read_range)
        finally:
            byte_source.close()
        with self._lock:
            self._cache[object_key] = offsets
        return offsets


def ifd_offsets(read: Any) -> list[int]:
    """Offsets of the top-level IFD chain (TIFF 6.0 §2; BigTIFF), following "next IFD" links.

    ``read(start, stop)`` returns bytes. Stops at offset 0, at a loop, past the file, or after
    :data:`_MAX_OFFSETS` IFDs. Raises ImagingError for a file that is no TIFF.
    """
    from htan_cds.errors import ImagingError

    header = read(0, 16)
    order = {b"II": "<", b"MM": ">"}.get(header[:2])
    if order is None or len(header) < 8:
        raise ImagingError("not a TIFF")
    version = struct.unpack(order + "H", header[2:4])[0]
    big = version == 43
    if version not in (42, 43):
        raise ImagingError("not a TIFF")
    count_fmt, entry_size, offset_fmt = ("Q", 20, "Q") if big else ("H", 12, "I")
    offset = struct.unpack(order + offset_fmt, header[8:16] if big else header[4:8])[0]
    seen: set[int] = set()
    offsets: list[int] = []
    while offset and offset not in seen and len(offsets) < _MAX_OFFSETS:
        seen.add(offset)
        count_size = struct.calcsize(count_fmt)
        raw = read(offset, offset + count_size)
        if len(raw) < count_size:
            break
        (count,) = struct.unpack(order + count_fmt, raw)
        next_at = offset + count_size + count * entry_size
        raw = read(next_at, next_at + struct.calcsize(offset_fmt))
        if len(raw) < struct.calcsize(offset_fmt):
            break
        offsets.append(offset)
        (offset,) = struct.unpack(order + offset_fmt, raw)
    return offsets


def _handle(request: Request) -> Response:
    app = request.app
    raw = (request.scope.get("raw_path") or request.url.path.encode()).decode("latin-1")
    rest = raw[len(NAMED_PREFIX) :]
    encoded_id, sep, encoded_name = rest.partition("/")
    if not sep or not encoded_name or "/" in encoded_name:
        return _error(404, "no such file")
    drs_id, name = unquote(encoded_id), unquote(encoded_name)
    q = request.query_params
    if not verify(
        app.state.config.home.secret_key(),
        _signed_path(drs_id),
        q.get("expires", ""),
        q.get("sig", ""),
    ):
        return _error(403, "invalid or expired signature")
    record = app.state.drs.repo.snapshot().files.get(drs_id)
    if record is None or not record.object_key:
        return _error(404, "no such object")
    if name == record.name:
        return _to_bytes(app, record, q.get("expires", ""))
    if name == offsets_name(record.name):
        from htan_cds.server.image_readers import object_source

        source, _ = object_source(app, record)
        if source is None:
            return _error(404, "the object's bytes are not stored here")
        try:
            offsets = app.state.named_offsets.get(record.object_key, source)
        except HtanCdsError as exc:
            return _error(422, f"not a readable TIFF: {exc.message}")
        return JSONResponse(offsets, headers={"Cache-Control": "private, max-age=3600"})
    return _error(404, "no such file")


def _to_bytes(app: Any, record: Any, expires: str) -> Response:
    config = app.state.config
    if config.store and config.store.startswith("s3://"):
        access = app.state.drs.access.access_url(record, "https")
        if not access or not access.get("url"):
            return _error(404, "the object's bytes are not stored here")
        target = str(access["url"])
    else:
        path = BYTES_PREFIX + encode_object_id(record.drs_id)
        sig = sign(config.home.secret_key(), path, int(expires))
        target = f"{path}?{urlencode({'expires': expires, 'sig': sig})}"
    return RedirectResponse(target, status_code=307, headers={"Cache-Control": "no-store"})


def mount(app: FastAPI, config: Any) -> None:
    """Add ``GET/HEAD /named/{id}/{name}`` (a ``create_app`` extension)."""
    del config
    app.state.named_offsets = _Offsets()

    def named(request: Request, path: str) -> Response:
        del path  # parsed from the raw path, where %2F is still one segment
        return _handle(request)

    app.add_api_route(
        NAMED_PREFIX + "{path:path}",
        named,
        methods=["GET", "HEAD"],
        include_in_schema=False,
        response_model=None,
        name="named-bytes",
    )
