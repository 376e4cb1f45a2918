"""A deadline for receiving a request's headers (slowloris), on uvicorn's HTTP protocols.

uvicorn has no such timeout: ``timeout_keep_alive`` only covers idle time *between* requests and
is cancelled by the first byte received (``_unset_keepalive_if_required()`` opens
``data_received`` in ``uvicorn/protocols/http/httptools_impl.py``, as in ``h11_impl.py``), so a
client that connects and sends nothing, or trickles a request line one byte at a time, holds a
connection for ever; and an ASGI middleware cannot help, it runs only once the headers are
parsed. :class:`HeaderTimeoutHttpTools` (httptools is a dependency; zero-copy byte serving
needs it too) arms a timer when a connection opens and when a request's first byte arrives,
disarms it when the headers are complete, and on expiry answers ``408 Request Timeout`` and
closes (what Go's ``ReadHeaderTimeout`` and nginx's ``client_header_timeout`` do).

The timeout is read from the uvicorn ``Config`` attribute ``header_timeout`` (set by
:func:`htan_cds.server.app.serve`), which survives the pickling of ``--workers`` mode.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

DEFAULT_HEADER_TIMEOUT = 10.0
_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
)


class _HeaderDeadline:
    """A timer on a protocol: armed while a request's headers are awaited."""

    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    _deadline: asyncio.TimerHandle | None
    _header_timeout: float

    def _setup_deadline(self, config: Any) -> None:
        self._deadline = None
        self._header_timeout = float(getattr(config, "header_timeout", DEFAULT_HEADER_TIMEOUT))

    def _arm(self) -> None:
        if self._deadline is None and self._header_timeout > 0:
            self._deadline = self.loop.call_later(self._header_timeout, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.write(_TIMEOUT_RESPONSE)
            self.transport.close()


class HeaderTimeoutHttpTools(_HeaderDeadline, HttpToolsProtocol):
    """uvicorn's httptools protocol with a header deadline (the commons' default)."""

    def __init__(self, config: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self._setup_deadline(config)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def uvicorn_config(
    app: Any, *, header_timeout: float = DEFAULT_HEADER_TIMEOUT, **options: Any
) -> Any:
    """A ``uvicorn.Config`` for ``app`` on :class:`HeaderTimeoutHttpTools` (``options`` as for
    ``uvicorn.Config``); the timeout travels as the Config attribute ``header_timeout``."""
    import uvicorn

    config = uvicorn.Config(app, http=HeaderTimeoutHttpTools, **options)
    config.header_timeout = header_timeout  # type: ignore[attr-defined]
    return config


def run(uv_config: Any) -> None:
    """What ``uvicorn.run`` does for one process, on a Config from :func:`uvicorn_config`."""
    import contextlib
    import sys

    import uvicorn
    from uvicorn.config import STARTUP_FAILURE

    server = uvicorn.Server(uv_config)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)
