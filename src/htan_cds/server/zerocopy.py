"""Zero-copy byte sending: ``os.sendfile`` straight from the page cache to the client socket.

ASGI has no standard zero-copy send that uvicorn implements, so the app keeps uvicorn's own
``send`` callable in the scope (middlewares wrap the one the endpoint sees). Under uvicorn's
httptools protocol that callable belongs to the connection's request cycle, whose transport
``loop.sendfile`` can drive; the cycle's byte count is then settled so uvicorn completes the
response normally. Anything else (h11, TLS, another server) falls back to chunked reads.
"""

from __future__ import annotations

import asyncio
from typing import IO, Any

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from htan_cds.server.limits import limit_body

RAW_SEND_KEY = "htan_cds.raw_send"
_HTTPTOOLS_MODULE = "uvicorn.protocols.http.httptools_impl"


class CommonsApp(FastAPI):
    """FastAPI that remembers the server's own ``send`` for zero-copy byte serving, and bounds
    every request body before any middleware or route sees it (:mod:`htan_cds.server.limits`).
    """

    max_body_bytes: int | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope[RAW_SEND_KEY] = send
            if self.max_body_bytes is not None:
                await limit_body(super().__call__, self.max_body_bytes, scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def sendfile_cycle(scope: Scope) -> Any | None:
    """uvicorn's request cycle for this request if zero-copy sending is possible, else None."""
    raw = scope.get(RAW_SEND_KEY)
    cycle = getattr(raw, "__self__", None)
    if cycle is None or type(cycle).__module__ != _HTTPTOOLS_MODULE:
        return None
    transport = getattr(cycle, "transport", None)
    if transport is None or not hasattr(cycle, "expected_content_length"):
        return None
    if transport.get_extra_info("sslcontext") is not None or transport.is_closing():
        return None
    return cycle


async def send_file_range(cycle: Any, fh: IO[bytes], offset: int, count: int) -> bool:
    """Send ``count`` bytes of ``fh`` from ``offset`` on the cycle's transport.

    Call after ``http.response.start`` and before the final empty ``http.response.body``.
    Returns False if the client went away (the transport is closed then).
    """
    loop = asyncio.get_running_loop()
    try:
        sent = await loop.sendfile(cycle.transport, fh, offset, count)
    except (ConnectionError, OSError, RuntimeError):
        cycle.transport.close()
        return False
    cycle.expected_content_length -= sent
    return sent == count
