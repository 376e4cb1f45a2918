"""Bounds on what a client may send: request body size, JSON nesting, numbers in parameters.

One ASGI wrapper, :class:`BodyLimit`, sits *outside* every middleware and route of the commons
app (``CommonsApp.__call__``) and of the stand-alone workspace app, so no middleware that reads
a body first (the workspace's DRS bridge) can bypass it: a declared ``Content-Length`` over the
limit is answered 413 before the app runs, and a body that grows past it while streaming ends
the request with 413 whatever the route was doing. :func:`parse_json` is the one JSON reader of
request bodies: orjson, a depth bound, and a :class:`BadRequestBody` (400) for anything that is
not JSON.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from htan_cds.errors import HtanCdsError

MAX_JSON_DEPTH = 32
# Integers in query strings and headers (offsets, ranges) past this are refused or clamped:
# 2**53 - 1 is the largest integer a JSON/JavaScript client can hold exactly.
MAX_SAFE_INT = 2**53 - 1


class BadRequestBody(HtanCdsError):
    """A request body that is not acceptable JSON (maps to 400)."""

    status_code = 400


class BodyTooLarge(Exception):
    """Raised from ``receive`` once a body passes the limit (caught by :func:`limit_body`)."""


def json_depth_ok(value: Any, max_depth: int = MAX_JSON_DEPTH) -> bool:
    """True if ``value`` (parsed JSON) nests arrays/objects at most ``max_depth`` deep."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            return False
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item if isinstance(v, dict | list))
    return True


def parse_json(raw: bytes | str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """The JSON value in ``raw``; :class:`BadRequestBody` if it is not JSON or nests too deep.

    orjson refuses invalid UTF-8 and stops at 1,024 levels by itself (so parsing never
    recurses without bound); the depth bound here is the project's, far below that.
    """
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if "recursion" in str(exc).lower():
            raise BadRequestBody(f"JSON nested deeper than {max_depth} levels") from None
        raise BadRequestBody("the body is not valid JSON") from None
    if isinstance(value, dict | list) and not json_depth_ok(value, max_depth):
        raise BadRequestBody(f"JSON nested deeper than {max_depth} levels")
    return value


def bounded_int(text: str) -> int:
    """``int(text)`` for a string of ASCII digits, clamped to :data:`MAX_SAFE_INT`.

    Python refuses to parse integers of more than 4,300 digits (ValueError); a number that
    long is far past any size or offset anyway.
    """
    digits = text.strip().lstrip("0") or "0"
    if len(digits) > 16:
        return MAX_SAFE_INT
    return min(int(digits), MAX_SAFE_INT)


def _error_body(limit: int) -> bytes:
    return orjson.dumps({"msg": f"request body larger than {limit} bytes", "status_code": 413})


async def _send_413(send: Send, limit: int) -> None:
    body = _error_body(limit)
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class _Limiter:
    """``receive``/``send`` of one request, counting body bytes."""

    def __init__(self, receive: Receive, send: Send, limit: int) -> None:
        self._receive, self._send, self.limit = receive, send, limit
        self.size = 0
        self.exceeded = False
        self.started = False

    async def receive(self) -> Message:
        if self.exceeded:
            raise BodyTooLarge
        message = await self._receive()
        if message["type"] == "http.request":
            self.size += len(message.get("body", b""))
            if self.size > self.limit:
                self.exceeded = True
                raise BodyTooLarge
        return message

    async def send(self, message: Message) -> None:
        if self.exceeded and not self.started:
            return  # the app's error answer is replaced by the 413
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return bounded_int(text) if text.isdigit() else None
    return None


async def limit_body(app: ASGIApp, limit: int, scope: Scope, receive: Receive, send: Send) -> None:
    """Call ``app`` with the request body limited to ``limit`` bytes (413 past it)."""
    if scope["type"] != "http":
        await app(scope, receive, send)
        return
    declared = _declared_length(scope)
    if declared is not None and declared > limit:
        await _send_413(send, limit)
        return
    limiter = _Limiter(receive, send, limit)
    try:
        await app(scope, limiter.receive, limiter.send)
    except BodyTooLarge:
        pass
    except BaseExceptionGroup as group:
        # Task groups (streaming responses) wrap what a task raised.
        if group.subgroup(BodyTooLarge) is None:
            raise
    if limiter.exceeded and not limiter.started:
        await _send_413(send, limit)


class BodyLimit:
    """ASGI middleware: request bodies of at most ``limit`` bytes (see module docs)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await limit_body(self.app, self.limit, scope, receive, send)
