"""Signed byte serving: ``GET/HEAD /bytes/<id>?expires=…&sig=…``.

Range (one range → 206; several → the whole object, which RFC 9110 allows), If-Range, strong
ETag (the object's sha-256: the store is content-addressed), 416 with ``Content-Range: */size``.
Bytes go out zero-copy (``os.sendfile``, see :mod:`htan_cds.server.zerocopy`) under uvicorn's
httptools protocol, else in large chunks read off the event loop; with ``nginx_accel`` set the
app only checks the signature and hands the file to a front nginx via ``X-Accel-Redirect``.
"""

from __future__ import annotations

import os
import re
from email.utils import formatdate, parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from htan_cds.drs.uri import encode_object_id
from htan_cds.errors import ObjectNotFound
from htan_cds.server.errors import DrsHttpError, error_response
from htan_cds.server.limits import bounded_int
from htan_cds.server.service import BYTES_PREFIX, DrsService, check_object_id
from htan_cds.server.signing import verify
from htan_cds.server.zerocopy import send_file_range, sendfile_cycle
from htan_cds.storage.local import LocalObjectStore

CHUNK = 4 * 1024 * 1024
_RANGE_RE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


def parse_range(header: str | None, size: int) -> tuple[int, int] | bool | None:
    """``(start, end_inclusive)`` for one satisfiable range; None to send it all; False: 416."""
    if header is None:
        return None
    if "," in header:
        return None
    match = _RANGE_RE.match(header)
    if not match:
        return None  # a malformed Range is ignored (RFC 9110 §14.2)
    first, last = match.groups()
    if not first and not last:
        return None
    # Numbers past 2**53 are clamped (bounded_int): a range that long covers any object.
    if not first:
        suffix = bounded_int(last)
        if suffix == 0 or size == 0:
            return False
        return (max(0, size - suffix), size - 1)
    start = bounded_int(first)
    if start >= size:
        return False
    end = bounded_int(last) if last else size - 1
    if end < start:
        return None
    return (start, min(end, size - 1))


def _if_range_ok(if_range: str | None, etag: str, mtime: float) -> bool:
    if if_range is None:
        return True
    value = if_range.strip()
    if value.startswith('"') or value.startswith("W/"):
        return value == etag  # strong comparison; weak tags never match
    try:
        return int(parsedate_to_datetime(value).timestamp()) >= int(mtime)
    except (TypeError, ValueError):
        return False


class _FileBody:
    """ASGI response streaming ``[start, end]`` of a file in big chunks."""

    def __init__(
        self, path: str, status: int, headers: list[tuple[bytes, bytes]], start: int, length: int
    ) -> None:
        self.path, self.status, self.headers = path, status, headers
        self.start, self.length = start, length

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        if scope["method"] == "HEAD" or self.length == 0:
            await send({"type": "http.response.body", "body": b""})
            return
        cycle = sendfile_cycle(scope)
        if cycle is not None:
            with open(self.path, "rb") as fh:
                if await send_file_range(cycle, fh, self.start, self.length):
                    await send({"type": "http.response.body", "body": b""})
            return
        fd = os.open(self.path, os.O_RDONLY)
        try:
            offset, remaining = self.start, self.length
            while remaining > 0:
                size = min(CHUNK, remaining)
                chunk = await anyio.to_thread.run_sync(os.pread, fd, size, offset)
                if not chunk:
                    break
                offset += len(chunk)
                remaining -= len(chunk)
                await send(
                    {"type": "http.response.body", "body": chunk, "more_body": remaining > 0}
                )
        finally:
            os.close(fd)


class BytesRoutes:
    """The signed byte endpoint of a local object store."""

    def __init__(self, service: DrsService, store: LocalObjectStore, key: bytes) -> None:
        self.service = service
        self.store = store
        self.key = key
        self.accel = service.config.nginx_accel

    async def get_bytes(self, request: Request) -> Any:
        object_id = request.path_params["object_id"]
        try:
            check_object_id(object_id)
        except DrsHttpError:
            return error_response(403, "invalid or expired signature")
        path = BYTES_PREFIX + encode_object_id(object_id)
        q = request.query_params
        if not verify(self.key, path, q.get("expires", ""), q.get("sig", ""), "GET"):
            return error_response(403, "invalid or expired signature")
        rec = self.service.repo.snapshot().files.get(object_id)
        if rec is None or not rec.object_key:
            return error_response(404, "no such object")
        try:
            file_path = str(self.store.path_for(rec.object_key))
            st = os.stat(file_path)
        except (ObjectNotFound, FileNotFoundError):
            return error_response(404, "the object's bytes are not in this store")
        size = st.st_size
        etag = f'"{rec.object_key}"'
        disposition = f"attachment; filename*=utf-8''{quote(rec.name, safe='')}"
        common = {
            "etag": etag,
            "last-modified": formatdate(st.st_mtime, usegmt=True),
            "accept-ranges": "bytes",
            "content-disposition": disposition,
            "cache-control": "private, max-age=0",
        }
        if self.accel:
            accel = self.accel.rstrip("/") + "/" + file_path.split(str(self.store.root), 1)[-1]
            return Response(
                b"",
                headers={**common, "x-accel-redirect": accel.replace("//", "/")},
                media_type=rec.mime_type or "application/octet-stream",
            )
        rng: tuple[int, int] | bool | None = None
        if _if_range_ok(request.headers.get("if-range"), etag, st.st_mtime):
            rng = parse_range(request.headers.get("range"), size)
        if rng is False:
            return error_response(
                416, "range not satisfiable", headers={"content-range": f"bytes */{size}"}
            )
        status, start, length = 200, 0, size
        headers = dict(common)
        if isinstance(rng, tuple):
            start, end = rng
            status, length = 206, end - start + 1
            headers["content-range"] = f"bytes {start}-{end}/{size}"
        headers["content-length"] = str(length)
        headers["content-type"] = rec.mime_type or "application/octet-stream"
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        return _FileBody(file_path, status, raw, start, length)

    def routes(self) -> list[Route]:
        return [Route(BYTES_PREFIX + "{object_id:path}", self.get_bytes, methods=["GET", "HEAD"])]
