"""DRS error bodies (``{msg, status_code}``) for every 4xx/5xx the app can produce."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from htan_cds.errors import HtanCdsError

_log = logging.getLogger("htan_cds.server")

_REASONS = {
    400: "bad request",
    401: "authorization required",
    403: "forbidden",
    404: "not found",
    405: "method not allowed",
    413: "request too large",
    415: "unsupported media type",
    416: "range not satisfiable",
    422: "invalid request",
    500: "internal server error",
}


class DrsHttpError(HtanCdsError):
    """An error that becomes a DRS error response with ``status_code``."""

    def __init__(
        self, status_code: int, message: str, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.headers = headers or {}


def error_response(status: int, msg: str, headers: dict[str, str] | None = None) -> Response:
    """A JSON response with the DRS ``Error`` body."""
    body = orjson.dumps({"msg": msg, "status_code": status})
    return Response(body, status_code=status, media_type="application/json", headers=headers)


async def _drs_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DrsHttpError)
    return error_response(exc.status_code, exc.message, exc.headers)


def prefers_html(accept: str) -> bool:
    """True when an ``Accept`` header ranks ``text/html`` above JSON (RFC 9110 §12.5.1 q-values).

    Browsers navigating send ``text/html,…,*/*;q=0.8`` (HTML wins); ``fetch()``, curl and HTTP
    libraries send ``*/*`` or ``application/json`` (a tie or JSON: JSON).
    """
    html = json = 0.0
    for item in accept.split(","):
        media, _, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        media = media.strip().lower()
        if media == "text/html":
            html = max(html, q)
        elif media in ("application/json", "application/*", "*/*"):
            json = max(json, q)
    return html > json


async def _bad_body(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HtanCdsError)
    return error_response(400, exc.message)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    # A browser asking for a page that is not there gets a page (when an extension such as the
    # portal provides one); API clients keep the DRS error body.
    page = getattr(request.app.state, "not_found_page", None)
    if status == 404 and page is not None and prefers_html(request.headers.get("accept", "")):
        response: Response = page(request)
        return response
    # Framework details (e.g. the path that was not found) are not echoed back.
    msg = _REASONS.get(status, "error")
    if status == 404:
        msg = "no such endpoint"
    headers = dict(exc.headers) if exc.headers else None
    return error_response(status, msg, headers)


async def _validation_error(request: Request, exc: Exception) -> Response:
    return error_response(400, "invalid request")


async def _unexpected(request: Request, exc: Exception) -> Response:
    from htan_cds.server.limits import BodyTooLarge

    if not isinstance(exc, BodyTooLarge):  # answered 413 by the body limit, nothing to log
        _log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(500, "internal server error")


def install(app: Any) -> None:
    """Register the handlers that turn every error into a DRS error body."""
    from fastapi.exceptions import RequestValidationError

    from htan_cds.server.limits import BadRequestBody

    app.add_exception_handler(DrsHttpError, _drs_error)
    app.add_exception_handler(BadRequestBody, _bad_body)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
