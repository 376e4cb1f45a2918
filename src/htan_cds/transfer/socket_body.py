"""Large response bodies read from the socket straight into the bytes that get hashed and written.

aiohttp's body path costs two copies and a Python round per read: its C parser copies every body
byte into a new ``bytes`` object (``_http_parser.pyx``, ``cb_on_body``), the stream hands those
on a 64 KiB flow-control leash, and the import gathered them into a write block (a third pass
over cold memory). Here aiohttp still makes the request, follows redirects, applies the
connection guard and proxies, and parses the status and headers; once a plain-HTTP response
with a ``Content-Length`` and no content coding is in hand, the connection's reading is paused,
what aiohttp already holds of the body is drained, and a worker thread ``recv_into``-s the rest
into a small reused buffer. Each block is hashed and written (buffered) while it is still in the
CPU's cache, with the GIL released in all three calls, so several files stream on both cores.
The connection is closed afterwards (aiohttp's parser never saw the end of the message).

Anything else -- TLS (the bytes are decrypted inside asyncio's SSL protocol), chunked or
compressed bodies, small bodies, an aiohttp without the pieces used here -- stays on aiohttp's
own reader (:func:`htan_cds.transfer.fetch._read_body`).

Bounded like aiohttp's reader: each ``recv`` waits at most the session's ``sock_read`` timeout,
never more than ``end - pos`` bytes are taken whatever ``Content-Length`` says, and a cancelled
fetch (the per-file timeout, Ctrl-C) shuts the socket down so the thread ends at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
from collections.abc import Callable
from concurrent.futures import Executor

import aiohttp

from htan_cds.transfer.verify import PartialFile

# Bodies smaller than this stay on aiohttp: a thread hop and a new connection cost more.
MIN_BODY = 1 << 20
# Bytes received, hashed and written per round: small enough to stay in the L2 cache between
# the three passes (measured on the 2-core VM: 256 KiB blocks took about half the system time
# of 4 MiB blocks for the same buffered writes).
BLOCK = 256 << 10
# Progress is reported to the event loop about this often (bytes), not per block.
_REPORT_EVERY = 4 << 20

_local = threading.local()


class BodyBroken(Exception):
    """The socket failed after ``written`` bytes were stored (the cause is chained)."""

    def __init__(self, written: int, message: str) -> None:
        super().__init__(message)
        self.written = written


def _buffer() -> memoryview:
    buf: bytearray | None = getattr(_local, "buf", None)
    if buf is None:
        buf = _local.buf = bytearray(BLOCK)
    return memoryview(buf)


def eligible(resp: aiohttp.ClientResponse, want: int) -> bool:
    """Whether ``resp``'s body (``want`` bytes still wanted) can be read from its socket."""
    if want < MIN_BODY or resp.content_length is None:
        return False
    headers = resp.headers
    if "Transfer-Encoding" in headers or headers.get("Content-Encoding", "identity") != "identity":
        return False
    conn = resp.connection
    if conn is None or conn.transport is None or conn.protocol is None:
        return False
    transport = conn.transport
    if transport.get_extra_info("sslcontext") is not None:
        return False
    sock = transport.get_extra_info("socket")
    return sock is not None and sock.type == socket.SOCK_STREAM


def _detach(resp: aiohttp.ClientResponse) -> tuple[bytes, socket.socket]:
    """Stop aiohttp reading ``resp``'s connection; return the body bytes it already holds and
    a duplicate of the socket (its own descriptor, so closing the transport cannot pull the
    number from under the reading thread)."""
    conn = resp.connection
    assert conn is not None and conn.protocol is not None and conn.transport is not None
    protocol, transport = conn.protocol, conn.transport
    held: list[bytes] = []
    # Pausing first makes aiohttp's flow control resume (and so hand over any bytes its
    # parser held back) on each drain; everything here runs synchronously on the loop, so no
    # socket read can happen in between. Two empty reads in a row: nothing is held back.
    protocol.pause_reading()
    empty = 0
    while empty < 2:
        data = resp.content.read_nowait(-1)
        if data:
            held.append(data)
            empty = 0
        else:
            empty += 1
    protocol.pause_reading()  # the drain may have resumed it
    raw = transport.get_extra_info("socket")
    sock = socket.socket(fileno=os.dup(raw.fileno()))
    return b"".join(held), sock


def _pump(
    sock: socket.socket,
    partial: PartialFile,
    offset: int,
    want: int,
    head: bytes,
    timeout: float | None,
    report: Callable[[int], None],
) -> int:
    """Receive up to ``want`` bytes (``head`` first) into ``partial`` at ``offset``; returns
    bytes written. Ends early when the peer closes; raises :class:`BodyBroken` on errors."""
    sock.settimeout(timeout)
    buf = _buffer()
    written = unreported = fill = 0
    head = head[:want]
    if head:
        # What aiohttp held already (it may exceed one block): stored as it is.
        partial.write_hot(offset, memoryview(head))
        written = unreported = len(head)
    try:
        ended = False
        while written < want and not ended:
            limit = min(BLOCK, want - written)
            while fill < limit:
                n = sock.recv_into(buf[fill:limit])
                if not n:
                    ended = True
                    break
                fill += n
            if fill:
                partial.write_hot(offset + written, buf[:fill])
                written += fill
                unreported += fill
                fill = 0
                if unreported >= _REPORT_EVERY:
                    report(unreported)
                    unreported = 0
    except OSError as exc:
        if not isinstance(exc, (TimeoutError, ConnectionError)) and exc.errno is not None:
            raise  # a write failed (disk full...): not a network error to retry
        if fill:
            # Keep what arrived before the break: the retry continues after it.
            partial.write_hot(offset + written, buf[:fill])
            written += fill
            unreported += fill
        raise BodyBroken(written, str(exc) or type(exc).__name__) from exc
    finally:
        if unreported:
            report(unreported)
    return written


async def read_from_socket(
    resp: aiohttp.ClientResponse,
    partial: PartialFile,
    pos: int,
    end: int,
    *,
    executor: Executor,
    timeout: float | None,
    on_bytes: Callable[[int], None],
) -> int:
    """Store ``resp``'s body at ``pos`` (never past ``end``) read from its socket in a thread
    of ``executor``; returns bytes written. Only for responses :func:`eligible` accepted; the
    connection is closed afterwards. Raises :class:`BodyBroken` (with the bytes stored) when
    the connection breaks or a read waits longer than ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    want = min(end - pos, resp.content_length or 0)
    head, sock = _detach(resp)

    def report(n: int) -> None:
        loop.call_soon_threadsafe(on_bytes, n)

    job = loop.run_in_executor(executor, _pump, sock, partial, pos, want, head, timeout, report)
    try:
        return await asyncio.shield(job)
    except asyncio.CancelledError:
        # Wake the thread (its recv returns at once) and let it finish its last write before
        # the partial file may be closed.
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(BaseException):
            await job
        raise
    finally:
        if job.done():
            sock.close()
        else:
            job.add_done_callback(lambda _f: sock.close())
        resp.close()
