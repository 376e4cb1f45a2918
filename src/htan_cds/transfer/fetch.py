"""Fetch one object's bytes into its :class:`~htan_cds.transfer.verify.PartialFile`.

Large objects are split into ranged parts fetched concurrently; every request retries
connection errors, resets, 5xx, 429/202 (after ``Retry-After``) and truncated bodies with
backoff, and continues from the bytes already written. A 401/403/410 means the signed URL
expired: a fresh one is fetched and the part continues where it stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiohttp

from htan_cds.drs.access_calls import NoRoute
from htan_cds.drs.access_methods import RouteKind
from htan_cds.drs.client import DrsClient
from htan_cds.drs.models import AccessURL, DrsObject
from htan_cds.drs.retry import RETRYABLE_STATUS, RetryPolicy
from htan_cds.errors import AccessDenied, DrsError, TransferError
from htan_cds.net.origins import origin
from htan_cds.net.redirects import follow_redirects
from htan_cds.transfer import socket_body
from htan_cds.transfer.verify import PartialFile

CHUNK = 4 << 20
# Writes smaller than this are done on the event loop: a thread hop costs more than the write.
_INLINE_WRITE = 256 << 10
# Received buffers gathered per block; bounds the per-block overhead when a server trickles.
_MAX_BUFFERS = 512
_EXPIRED_STATUS = frozenset({401, 403, 410})
_MAX_REFRESHES = 5


class RangeUnsupported(TransferError):
    """The byte server ignored a Range request; the object must be fetched in one stream."""


@dataclass
class FetchContext:
    """Shared by every fetch of one import: session, limits, thread pool, counters."""

    session: aiohttp.ClientSession
    client: DrsClient
    executor: Executor
    retry: RetryPolicy
    connections: asyncio.Semaphore
    per_host: int
    on_bytes: Callable[[str, int], None] = lambda _uri, _n: None
    # Threads that read large plain-HTTP bodies from their sockets (one per stream in flight);
    # None: every body goes through aiohttp's reader.
    body_executor: Executor | None = None
    host_limits: dict[str, asyncio.Semaphore] = field(default_factory=dict)
    bytes_fetched: int = 0
    refreshes: int = 0

    def count(self, uri: str, n: int) -> None:
        """Record ``n`` more bytes of ``uri`` stored: the import's total and its progress."""
        self.bytes_fetched += n
        self.on_bytes(uri, n)

    def host_limit(self, url: str) -> asyncio.Semaphore:
        netloc = urlsplit(url).netloc
        sem = self.host_limits.get(netloc)
        if sem is None:
            sem = self.host_limits[netloc] = asyncio.Semaphore(self.per_host)
        return sem


class AccessSource:
    """The current access URL of one object, from its current route; refreshed once for all
    parts when it expires, and moved on to the next route when this one cannot serve the bytes
    (every route's failure is kept for the error)."""

    def __init__(
        self,
        client: DrsClient,
        obj: DrsObject,
        key: str,
        first: Callable[[DrsObject], Awaitable[AccessURL]] | None = None,
    ) -> None:
        self.client = client
        self.key = key
        self._first = first
        self.obj = obj
        self._current: AccessURL | None = None
        self._route = 0
        self._lock = asyncio.Lock()
        self.refreshes = 0
        self.reasons: list[str] = []

    async def get(self) -> AccessURL:
        """The URL to use now (resolving it on first use)."""
        if self._current is None:
            async with self._lock:
                if self._current is None:
                    await self._start()
        assert self._current is not None
        return self._current

    async def _start(self) -> None:
        if self._first is not None:
            try:
                self._current = await self._first(self.obj)
                return
            except NoRoute:
                raise  # every route was tried already, each reason is in it
            except DrsError as exc:
                found, _ = self.client.routes(self.obj)
                if found:
                    self.reasons.append(f"{found[0].describe()}: {exc}")
                self._route = 1
        self._route, self._current = await self.client.first_route_url(
            self.obj, self._route, self.reasons
        )

    async def refresh(self, stale: AccessURL) -> AccessURL:
        """A fresh URL after ``stale`` was refused; other parts reuse one refresh."""
        async with self._lock:
            if self._current is not None and self._current is not stale:
                return self._current
            self.refreshes += 1
            if self.refreshes > _MAX_REFRESHES * 4:
                raise AccessDenied(f"{self.obj.self_uri}: access keeps being refused")
            found, _ = self.client.routes(self.obj)
            route = found[self._route] if self._route < len(found) else None
            if route is not None and route.kind is RouteKind.ACCESS_ID:
                self._current = await self.client.route_url(self.obj, route)
            elif route is not None and route.kind is RouteKind.INLINE:
                # The URL came inline with the object: resolving again yields a fresh one.
                self.obj = await self.client.resolve(self.obj.self_uri)
                self._route, self._current = await self.client.first_route_url(self.obj)
            else:
                self._current = stale  # a public bucket URL does not expire
            return self._current

    async def next_route(self, failed: AccessURL, reason: str) -> AccessURL:
        """Give up the route ``failed`` came from (for ``reason``) and take the next one;
        raises :class:`~htan_cds.drs.access_calls.NoRoute` naming every reason when none is left."""
        async with self._lock:
            if self._current is not None and self._current is not failed:
                return self._current  # another part moved on already
            found, _ = self.client.routes(self.obj)
            if self._route < len(found):
                self.reasons.append(f"{found[self._route].describe()}: {reason}")
            self._route, self._current = await self.client.first_route_url(
                self.obj, self._route + 1, self.reasons
            )
            return self._current


async def _headers(ctx: FetchContext, access: AccessURL, obj: DrsObject) -> dict[str, str]:
    # The AccessURL's own headers go with every byte request (DRS 1.5 AccessURL.headers).
    headers = access.header_dict()
    # Our bearer token goes only to the DRS host itself (same origin), never to a third-party
    # signed URL (S3 rejects requests carrying both a signature and an Authorization header).
    # Objects that are not DRS objects (bucket-prefix rows: IDC series) are fetched anonymously.
    if "Authorization" not in headers and obj.self_uri.startswith("drs://"):
        base = ctx.client.base_url_of(obj)
        if origin(access.url) == origin(base):
            headers.update(await ctx.client.auth_headers(base))
    return headers


async def fetch_range(
    ctx: FetchContext,
    source: AccessSource,
    partial: PartialFile,
    start: int,
    end: int,
    *,
    whole: bool,
) -> int:
    """Fetch bytes ``[start, end)`` into ``partial``; returns bytes received."""
    pos = start
    attempt = 0
    refreshes = 0
    received = 0
    last_error = "no attempt"
    while pos < end:
        access = await source.get()
        if attempt >= ctx.retry.attempts:
            # This route cannot serve the bytes: the next one may (NoRoute names every reason).
            await source.next_route(access, f"gave up after {attempt} tries: {last_error}")
            attempt = refreshes = 0
            continue
        if not access.url.lower().startswith(("http://", "https://")):
            await source.next_route(access, f"{access.url.split(':')[0]}: is not fetchable")
            continue
        headers = await _headers(ctx, access, source.obj)
        ranged = not (whole and pos == 0)
        if ranged:
            headers["Range"] = f"bytes={pos}-{end - 1}"
        progressed = False
        try:
            async with (
                ctx.connections,
                ctx.host_limit(access.url),
                # Redirects by hand: no header but Range follows one to another origin.
                follow_redirects(ctx.session, "GET", access.url, headers=headers) as resp,
            ):
                status = resp.status
                if status in _EXPIRED_STATUS:
                    refreshes += 1
                    if refreshes > _MAX_REFRESHES:
                        await source.next_route(access, f"byte server answered HTTP {status}")
                        attempt = refreshes = 0
                        continue
                    ctx.refreshes += 1
                    await source.refresh(access)
                    continue
                if status == 202 or status in RETRYABLE_STATUS:
                    attempt += 1
                    last_error = f"HTTP {status}"
                    await asyncio.sleep(
                        ctx.retry.wait_for(resp.headers.get("Retry-After"), attempt)
                    )
                    continue
                if status == 200 and ranged and pos != 0:
                    raise RangeUnsupported(f"{access.url} ignores Range requests")
                if status == 206:
                    crange = resp.headers.get("Content-Range", "")
                    if not crange.startswith(f"bytes {pos}-"):
                        raise RangeUnsupported(f"unexpected Content-Range {crange!r}")
                elif status != 200:
                    await source.next_route(access, f"byte server answered HTTP {status}")
                    attempt = refreshes = 0
                    continue
                got = await _read(ctx, resp, partial, pos, end, source.key)
                received += got
                progressed = got > 0
                pos += got
                if pos < end:
                    last_error = f"body ended {end - pos} bytes early"
                    raise _Truncated(last_error)
        except (_Truncated, aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
            if isinstance(exc, _PartialProgress):
                pos += exc.written
                received += exc.written
                progressed = progressed or exc.written > 0
            attempt = 1 if progressed else attempt + 1
            last_error = str(exc) or type(exc).__name__
            await asyncio.sleep(ctx.retry.backoff(attempt))
    return received


class _Truncated(Exception):
    pass


class _PartialProgress(aiohttp.ClientError):
    """A body broke off after ``written`` bytes were stored (the original error chained)."""

    def __init__(self, written: int, message: str) -> None:
        super().__init__(message)
        self.written = written


async def _read(
    ctx: FetchContext,
    resp: aiohttp.ClientResponse,
    partial: PartialFile,
    pos: int,
    end: int,
    uri: str,
) -> int:
    """Store a body into ``partial`` at ``pos`` (never past ``end``); returns bytes written.

    Large plain-HTTP bodies are read from the socket in a thread
    (:mod:`htan_cds.transfer.socket_body`), the others through aiohttp's reader; either way
    every stored block is counted once (:meth:`FetchContext.count`)."""
    count = functools.partial(ctx.count, uri)
    if ctx.body_executor is None or not socket_body.eligible(resp, end - pos):
        return await _read_body(ctx.executor, resp, partial, pos, end, count)
    try:
        return await socket_body.read_from_socket(
            resp,
            partial,
            pos,
            end,
            executor=ctx.body_executor,
            timeout=ctx.client.timeout,
            on_bytes=count,
        )
    except socket_body.BodyBroken as exc:
        # Keep what reached the disk: the retry continues after it.
        raise _PartialProgress(exc.written, str(exc)) from exc.__cause__


async def _read_body(
    executor: Executor,
    resp: aiohttp.ClientResponse,
    partial: PartialFile,
    pos: int,
    end: int,
    count: Callable[[int], None],
) -> int:
    """Stream a body through aiohttp's reader into ``partial`` at ``pos`` (never past ``end``);
    returns bytes written, each block given to ``count`` once stored.

    Received buffers are gathered without copying and handed to the thread pool in blocks of
    :data:`CHUNK` (one ``pwritev`` and in-order hashing there), double-buffered so the next
    block downloads while the previous one is written and hashed (hashlib releases the GIL).
    """
    loop = asyncio.get_running_loop()
    written = 0
    chunks: list[bytes] = []
    size = 0
    offset = pos
    pending: asyncio.Future[None] | None = None
    pending_len = 0

    async def settle() -> None:
        nonlocal pending, written, pending_len
        if pending is not None:
            fut, pending = pending, None
            await fut
            written += pending_len
            count(pending_len)
            pending_len = 0

    try:
        async for data in resp.content.iter_any():
            room = end - (offset + size)
            if room <= 0:
                break
            chunks.append(data[:room] if len(data) > room else data)
            size += len(chunks[-1])
            if size >= CHUNK or len(chunks) >= _MAX_BUFFERS:
                await settle()
                pending = loop.run_in_executor(executor, partial.write_many, offset, chunks)
                pending_len = size
                offset += size
                chunks, size = [], 0
        await settle()
        if chunks:
            if size < _INLINE_WRITE:
                partial.write_many(offset, chunks)
            else:
                await loop.run_in_executor(executor, partial.write_many, offset, chunks)
            written += size
            count(size)
    except (aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
        # Keep what reached the disk: the retry continues after it.
        if pending is not None:
            with contextlib.suppress(OSError):
                await settle()
        raise _PartialProgress(written, str(exc) or type(exc).__name__) from exc
    return written


async def fetch_parts(
    ctx: FetchContext,
    source: AccessSource,
    partial: PartialFile,
    part_size: int,
    done: set[int],
    on_part_done: Callable[[int], None],
    *,
    max_parallel: int | Callable[[], int],
) -> int:
    """Fetch every part not in ``done``, lowest first.

    ``max_parallel`` caps the parts in flight at once; given as a callable it is asked again
    each time a part ends, so a file fetched as one stream while many files share the
    connections widens when slots fall idle (and narrows back when they are wanted).
    """
    size = partial.size
    count = max(1, -(-size // part_size)) if size else 0
    todo = [i for i in range(count) if i not in done]
    queue: asyncio.Queue[int] = asyncio.Queue()
    for idx in todo:
        queue.put_nowait(idx)
    allowed = max_parallel if callable(max_parallel) else (lambda: max_parallel)
    total = 0
    workers: list[asyncio.Task[None]] = []
    running = 0

    def widen() -> None:
        nonlocal running
        want = min(max(1, allowed()), running + queue.qsize())
        while running < want:
            running += 1
            workers.append(asyncio.create_task(worker()))

    async def worker() -> None:
        nonlocal total, running
        try:
            while True:
                try:
                    idx = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                start = idx * part_size
                end = min(size, start + part_size)
                total += await fetch_range(ctx, source, partial, start, end, whole=count == 1)
                on_part_done(idx)
                if running > max(1, allowed()):
                    return
                widen()
        finally:
            running -= 1

    widen()
    try:
        # Workers may start more workers while they run: wait until every one has ended.
        seen = 0
        while seen < len(workers):
            batch = workers[seen:]
            seen = len(workers)
            await asyncio.gather(*batch)
    except BaseException:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        raise
    return total
