"""HTTP routes of the DRS 1.5 API under ``/ga4gh/drs/v1`` (raw Starlette endpoints, orjson).

Endpoints are plain Starlette routes rather than FastAPI operations: the hot path
(``GET /objects/{id}``) then costs one dict lookup and a cached byte string, and every error is
shaped here as the spec's ``{msg, status_code}``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from htan_cds.drs.uri import DRS_API_PATH
from htan_cds.server.access import Caller, bearer_caller, passport_caller
from htan_cds.server.errors import DrsHttpError
from htan_cds.server.limits import BadRequestBody, parse_json
from htan_cds.server.objects import BundleRecord
from htan_cds.server.service import DrsService
from htan_cds.server.tokens import TokenStore

_JSON = "application/json"
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}

Endpoint = Callable[[Request], Awaitable[Response]]


def _json(payload: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type=_JSON)


def _expand_param(request: Request) -> bool:
    """``expand`` in any letter case (name and value); anything but a boolean is a 400."""
    if not request.scope.get("query_string"):
        return False
    value: str | None = None
    for key, val in request.query_params.multi_items():
        if key.lower() == "expand":
            value = val
    if value is None:
        return False
    low = value.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise DrsHttpError(400, "expand must be true or false")


async def _body(request: Request, limit: int, *, required: bool = False) -> dict[str, Any]:
    """The JSON object in the body (``{}`` when empty and not required); 400/413 otherwise."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise DrsHttpError(413, f"request body larger than {limit} bytes")
        except ValueError as exc:
            raise DrsHttpError(400, "bad Content-Length") from exc
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise DrsHttpError(413, f"request body larger than {limit} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        if required:
            raise DrsHttpError(400, "a JSON body is required")
        return {}
    try:
        data = parse_json(raw)
    except BadRequestBody as exc:
        raise DrsHttpError(400, exc.message) from None
    if not isinstance(data, dict):
        raise DrsHttpError(400, "body must be a JSON object")
    return data


def _str_list(data: dict[str, Any], key: str, *, required: bool = False) -> list[str] | None:
    value = data.get(key)
    if value is None:
        if required:
            raise DrsHttpError(400, f"{key} is required")
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DrsHttpError(400, f"{key} must be an array of strings")
    return value


def _bool_field(data: dict[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise DrsHttpError(400, f"{key} must be a boolean")
    return value


def _group_unresolved(failures: dict[str, list[str]]) -> list[dict[str, Any]]:
    return [{"error_code": int(code), "object_ids": ids} for code, ids in sorted(failures.items())]


class DrsRoutes:
    """Binds a :class:`DrsService` to HTTP."""

    def __init__(self, service: DrsService, tokens: TokenStore) -> None:
        self.service = service
        self.tokens = tokens
        self.limit = service.config.max_body_bytes
        self.max_bulk = service.config.max_bulk

    def _caller(self, request: Request, body: dict[str, Any] | None = None) -> Caller:
        caller = bearer_caller(request.headers.get("authorization"), self.tokens)
        if caller is None:
            raise DrsHttpError(
                401,
                "invalid, expired or revoked credentials",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        passports = _str_list(body, "passports") if body else None
        if passports:
            caller = caller.merge(passport_caller(passports, self.service.verifier))
        return caller

    # --- endpoints ------------------------------------------------------------------------
    async def service_info(self, request: Request) -> Response:
        return _json(self.service.service_info())

    async def get_object(self, request: Request) -> Response:
        _expand_param(request)  # validated; our bundles hold only blobs, so no recursion differs
        rec = self.service.get(request.path_params["object_id"], self._caller(request))
        return Response(self.service.object_bytes(rec), media_type=_JSON)

    async def post_object(self, request: Request) -> Response:
        body = await _body(request, self.limit)
        _bool_field(body, "expand")
        rec = self.service.get(request.path_params["object_id"], self._caller(request, body))
        return Response(self.service.object_bytes(rec), media_type=_JSON)

    async def options_object(self, request: Request) -> Response:
        object_id = request.path_params["object_id"]
        # OPTIONS exists so a client can learn how to authorise: it answers for controlled
        # objects too (their existence is what the spec lets it reveal; no metadata is sent).
        out = self.service.resolve(object_id, Caller(authenticated=True))
        if out.status in (400, 404):
            raise DrsHttpError(out.status, out.msg)
        rec = self.service.repo.snapshot().get(object_id)
        assert rec is not None
        return _json(self.service.authorizations(rec))

    def _bulk_ids(self, body: dict[str, Any]) -> list[str]:
        ids = _str_list(body, "bulk_object_ids", required=True)
        assert ids is not None
        if not ids:
            raise DrsHttpError(400, "bulk_object_ids is empty")
        if len(ids) > self.max_bulk:
            raise DrsHttpError(
                413, f"at most {self.max_bulk} ids per request (maxBulkRequestLength)"
            )
        return ids

    async def bulk_objects(self, request: Request) -> Response:
        body = await _body(request, self.limit, required=True)
        _expand_param(request)
        _bool_field(body, "expand")
        ids = self._bulk_ids(body)
        caller = self._caller(request, body)
        parts: list[bytes] = []
        failures: dict[str, list[str]] = {}
        seen: set[str] = set()
        for object_id in ids:
            if object_id in seen:
                continue
            seen.add(object_id)
            out = self.service.resolve(object_id, caller)
            if out.record is None:
                failures.setdefault(str(out.status), []).append(object_id)
            else:
                parts.append(self.service.object_bytes(out.record))
        unresolved = sum(len(v) for v in failures.values())
        head = orjson.dumps(
            {
                "summary": {
                    "requested": len(ids),
                    "resolved": len(parts),
                    "unresolved": unresolved,
                },
                "unresolved_drs_objects": _group_unresolved(failures),
            }
        )
        # Splice the cached object bytes in rather than re-serialising 1,000 objects.
        payload = head[:-1] + b',"resolved_drs_object":[' + b",".join(parts) + b"]}"
        return Response(payload, media_type=_JSON)

    async def options_bulk(self, request: Request) -> Response:
        body = await _body(request, self.limit, required=True)
        ids = self._bulk_ids(body)
        resolved: list[dict[str, Any]] = []
        failures: dict[str, list[str]] = {}
        snap = self.service.repo.snapshot()
        for object_id in dict.fromkeys(ids):
            out = self.service.resolve(object_id, Caller(authenticated=True))
            rec = snap.get(object_id)
            if out.status in (400, 404) or rec is None:
                failures.setdefault(str(out.status), []).append(object_id)
            else:
                resolved.append(self.service.authorizations(rec))
        return _json(
            {
                "summary": {
                    "requested": len(ids),
                    "resolved": len(resolved),
                    "unresolved": sum(len(v) for v in failures.values()),
                },
                "unresolved_drs_objects": _group_unresolved(failures),
                "resolved_drs_object": resolved,
            }
        )

    async def get_access(self, request: Request) -> Response:
        p = request.path_params
        return _json(self.service.access_url(p["object_id"], p["access_id"], self._caller(request)))

    async def post_access(self, request: Request) -> Response:
        body = await _body(request, self.limit)
        p = request.path_params
        caller = self._caller(request, body)
        return _json(self.service.access_url(p["object_id"], p["access_id"], caller))

    async def bulk_access(self, request: Request) -> Response:
        body = await _body(request, self.limit, required=True)
        items = body.get("bulk_object_access_ids")
        if not isinstance(items, list) or not items:
            raise DrsHttpError(400, "bulk_object_access_ids must be a non-empty array")
        pairs: list[tuple[str, list[str]]] = []
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("bulk_object_id"), str):
                raise DrsHttpError(400, "each item needs a bulk_object_id string")
            access_ids = _str_list(item, "bulk_access_ids") or []
            pairs.append((item["bulk_object_id"], access_ids))
        if len(pairs) > self.max_bulk or sum(len(a) or 1 for _, a in pairs) > self.max_bulk:
            raise DrsHttpError(
                413, f"at most {self.max_bulk} ids per request (maxBulkRequestLength)"
            )
        caller = self._caller(request, body)
        urls: list[dict[str, Any]] = []
        failures: dict[str, list[str]] = {}
        for object_id, access_ids in pairs:
            out = self.service.resolve(object_id, caller)
            if out.record is None:
                failures.setdefault(str(out.status), []).append(object_id)
                continue
            if isinstance(out.record, BundleRecord):
                failures.setdefault("404", []).append(object_id)
                continue
            for access_id in access_ids or [
                m["access_id"] for m in self.service.access.methods(out.record)
            ]:
                url = self.service.access.access_url(out.record, access_id)
                if url is None:
                    failures.setdefault("404", []).append(object_id)
                else:
                    urls.append({"drs_object_id": object_id, "drs_access_id": access_id, **url})
        return _json(
            {
                "summary": {
                    "requested": len(pairs),
                    "resolved": len({u["drs_object_id"] for u in urls}),
                    "unresolved": sum(len(v) for v in failures.values()),
                },
                "unresolved_drs_objects": _group_unresolved(failures),
                "resolved_drs_object_access_urls": urls,
            }
        )

    def routes(self) -> list[Route]:
        """Starlette routes; order matters (``/objects/access`` before ``/objects/{id}``)."""
        base = DRS_API_PATH
        return [
            Route(f"{base}/service-info", self.service_info, methods=["GET"]),
            Route(f"{base}/objects/access", self.bulk_access, methods=["POST"]),
            Route(f"{base}/objects", self.bulk_objects, methods=["POST"]),
            Route(f"{base}/objects", self.options_bulk, methods=["OPTIONS"]),
            Route(
                f"{base}/objects/{{object_id:path}}/access/{{access_id}}",
                self.get_access,
                methods=["GET"],
            ),
            Route(
                f"{base}/objects/{{object_id:path}}/access/{{access_id}}",
                self.post_access,
                methods=["POST"],
            ),
            Route(f"{base}/objects/{{object_id:path}}", self.get_object, methods=["GET"]),
            Route(f"{base}/objects/{{object_id:path}}", self.post_object, methods=["POST"]),
            Route(f"{base}/objects/{{object_id:path}}", self.options_object, methods=["OPTIONS"]),
        ]
