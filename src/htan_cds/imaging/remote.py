"""A seekable, read-only file over HTTP Range requests with small blocks and a bounded cache.

tifffile needs a file object; the obvious one (fsspec's default readahead cache) fetches
megabytes per seek and ends up downloading most of a file to parse its IFDs. This one fetches
aligned blocks (default 16 KiB), coalesces neighbouring misses into one request, keeps a bounded
LRU of blocks, and counts every byte it receives so callers can report it.
"""

from __future__ import annotations

import contextlib
import io
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urljoin

import httpx

from htan_cds.errors import AccessDenied, HtanCdsError, ImagingError
from htan_cds.net.environment import custom_ssl_context
from htan_cds.net.origins import origin

# IFDs of a pyramid are scattered over the file, one small read each: small blocks keep the
# bytes near what tifffile asks for while costing almost no extra requests (measured: 64 KiB
# blocks sent 15x more bytes than 4 KiB blocks for the same 15-17 requests).
DEFAULT_BLOCK_SIZE = 16 * 1024
DEFAULT_CACHE_BLOCKS = 1024  # 16 MiB with the default block size
# Reads at least this many blocks long bypass the cache (tiles are read once, exactly).
_DIRECT_BLOCKS = 4
_MAX_REDIRECTS = 8


def _length(headers: httpx.Headers) -> int:
    """Content-Length, or a huge number when the server does not say (streamed bodies)."""
    value = headers.get("content-length", "")
    return int(value) if value.isdigit() else 1 << 62


class HttpRangeFile(io.RawIOBase):
    """Read-only, seekable view of the bytes at ``url`` (the server must honour Range)."""

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        block_size: int = DEFAULT_BLOCK_SIZE,
        cache_blocks: int = DEFAULT_CACHE_BLOCKS,
        timeout: float = 30.0,
        client: httpx.Client | None = None,
    ) -> None:
        super().__init__()
        self.url = url
        self.block_size = block_size
        self.cache_blocks = cache_blocks
        self.bytes_received = 0
        self.requests = 0
        self._pos = 0
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._own_client = client is None
        # The caller's headers (AccessURL headers, a bearer token) are for ``url``'s origin:
        # redirects are followed by hand and drop them when they lead elsewhere (httpx would
        # drop only Authorization).
        self._headers = dict(headers or {})
        # Byte offsets refer to the stored file: never let a server compress the ranges.
        self._client = client or httpx.Client(
            headers={"Accept-Encoding": "identity"},
            timeout=timeout,
            follow_redirects=False,
            # HTTPS_PROXY/NO_PROXY via httpx's trust_env; CA bundle as for every client here.
            verify=custom_ssl_context() or True,
        )
        self.size = self._probe_size()

    # -- HTTP ---------------------------------------------------------------------------------

    def _request(self, start: int, stop: int) -> tuple[int, httpx.Headers, bytes]:
        """One ranged GET of [start, stop): status, headers and at most ``stop - start`` bytes.

        The body is streamed and cut off at the asked length, so a server that ignores Range
        and answers 200 with the whole file costs a connection, not a download.
        """
        limit = stop - start
        with self._count_lock:
            self.requests += 1
        chunks: list[bytes] = []
        received = 0
        try:
            with self._stream(start, stop) as response:
                status, headers = response.status_code, response.headers
                if status in (401, 403):
                    raise AccessDenied(
                        f"{self._display()}: access refused (HTTP {status})", status_code=status
                    )
                if status == 404:
                    raise ImagingError(f"{self._display()}: not found (HTTP 404)")
                if status not in (200, 206):
                    raise ImagingError(f"{self._display()}: HTTP {status}")
                if status == 200 and not (start == 0 and _length(headers) <= limit):
                    raise ImagingError(
                        f"{self._display()}: the server ignores HTTP Range requests",
                        hint="remote reading needs Range support; download the file instead",
                    )
                for chunk in response.iter_bytes():
                    chunks.append(chunk)
                    received += len(chunk)
                    if received >= limit:
                        break
        except httpx.HTTPError as exc:
            raise ImagingError(f"cannot read {self._display()}: {exc}") from exc
        finally:
            with self._count_lock:
                self.bytes_received += received
        return status, headers, b"".join(chunks)[:limit]

    @contextlib.contextmanager
    def _stream(self, start: int, stop: int) -> Iterator[httpx.Response]:
        """A ranged GET, redirects followed by hand: another origin gets only ``Range``."""
        url = self.url
        headers = {**self._headers, "Range": f"bytes={start}-{stop - 1}"}
        for _hop in range(_MAX_REDIRECTS + 1):
            with self._client.stream("GET", url, headers=headers) as response:
                location = response.headers.get("location")
                if not response.is_redirect or not location:
                    yield response
                    return
                target = urljoin(url, location)
            if origin(target) != origin(url):
                headers = {"Range": headers["Range"]}
            url = target
        raise ImagingError(f"{self._display()}: more than {_MAX_REDIRECTS} redirects")

    def _get(self, start: int, stop: int) -> bytes:
        """Bytes [start, stop) in one ranged GET."""
        return self._request(start, stop)[2]

    def _probe_size(self) -> int:
        # One tiny ranged GET gives the total size (Content-Range) and proves Range works;
        # HEAD is not always allowed on signed URLs.
        status, headers, _ = self._request(0, 1)
        total = headers.get("content-range", "").rpartition("/")[2]
        if status == 206 and total.isdigit():
            return int(total)
        if status == 200:
            return _length(headers)  # a one-byte file, answered whole
        raise ImagingError(f"{self._display()}: no total size in the partial response")

    def _display(self) -> str:
        # Signed URLs carry secrets in the query string; never print them.
        return self.url.split("?", 1)[0]

    # -- blocks -------------------------------------------------------------------------------

    def _blocks(self, first: int, last: int) -> list[bytes]:
        """Blocks first..last inclusive, fetching each run of missing blocks in one request."""
        out: list[bytes | None] = []
        missing: list[int] = []
        for index in range(first, last + 1):
            block = self._cache.get(index)
            if block is not None:
                self._cache.move_to_end(index)
            else:
                missing.append(index)
            out.append(block)
        run_start = 0
        while run_start < len(missing):
            run_end = run_start
            while run_end + 1 < len(missing) and missing[run_end + 1] == missing[run_end] + 1:
                run_end += 1
            lo, hi = missing[run_start], missing[run_end]
            data = self._get(lo * self.block_size, min((hi + 1) * self.block_size, self.size))
            for index in range(lo, hi + 1):
                offset = (index - lo) * self.block_size
                block = data[offset : offset + self.block_size]
                out[index - first] = block
                self._cache[index] = block
            run_start = run_end + 1
        while len(self._cache) > self.cache_blocks:
            self._cache.popitem(last=False)
        return [b or b"" for b in out]

    def prefetch(self, offsets: Iterable[int], *, workers: int = 8) -> None:
        """Fetch the blocks holding ``offsets`` concurrently (a hint; errors surface later).

        IFD locations are often known before tifffile reads them (SubIFD offsets of a page);
        fetching them in parallel turns a chain of round trips into one.
        """
        wanted = sorted({o // self.block_size for o in offsets if 0 <= o < self.size})
        with self._lock:
            wanted = [i for i in wanted if i not in self._cache]
        if not wanted:
            return
        wanted = wanted[: self.cache_blocks // 2]  # never evict what we are about to use

        def fetch(index: int) -> tuple[int, bytes | None]:
            start = index * self.block_size
            try:
                return index, self._get(start, min(start + self.block_size, self.size))
            except HtanCdsError:
                return index, None

        with ThreadPoolExecutor(max_workers=min(workers, len(wanted))) as pool:
            results = list(pool.map(fetch, wanted))
        with self._lock:
            for index, block in results:
                if block is not None:
                    self._cache[index] = block
            while len(self._cache) > self.cache_blocks:
                self._cache.popitem(last=False)

    def read_range(self, start: int, stop: int) -> bytes:
        """Bytes [start, stop) of the file (clipped to its end)."""
        stop = min(stop, self.size)
        if stop <= start:
            return b""
        if stop - start >= _DIRECT_BLOCKS * self.block_size:
            return self._get(start, stop)
        first, last = start // self.block_size, (stop - 1) // self.block_size
        with self._lock:
            data = b"".join(self._blocks(first, last))
        offset = start - first * self.block_size
        return data[offset : offset + (stop - start)]

    # -- file protocol (what tifffile uses) ------------------------------------------------------

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            self._pos = offset
        elif whence == io.SEEK_CUR:
            self._pos += offset
        elif whence == io.SEEK_END:
            self._pos = self.size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        self._pos = max(self._pos, 0)
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            size = self.size - self._pos
        data = self.read_range(self._pos, self._pos + size)
        self._pos += len(data)
        return data

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed and self._own_client:
            self._client.close()
        self._cache.clear()
        super().close()

    def stats(self) -> dict[str, int]:
        """Bytes received, requests sent and the file size, for reports and benchmarks."""
        return {"bytes_received": self.bytes_received, "requests": self.requests, "size": self.size}
