"""Bodies read from a peer with a byte cap (counted after decompression).

``aiohttp`` decompresses a gzip/deflate/br body step by step as it is read (3.12+ bounds each
step), so reading in chunks and stopping at the cap keeps memory at about the cap even for a
gzip bomb; ``await resp.read()`` would inflate all of it first.
"""

from __future__ import annotations

import aiohttp

from htan_cds.errors import DrsError

# DRS JSON answers: a bulk answer of 1,000 objects with a few access methods each is ~4 MB.
DEFAULT_JSON_CAP = 32 << 20
_CHUNK = 64 << 10


class BodyTooLarge(DrsError):
    """A peer sent more bytes (after decompression) than the reader accepts."""


async def read_capped(resp: aiohttp.ClientResponse, cap: int, what: str = "answer") -> bytes:
    """The whole body of ``resp``, or :class:`BodyTooLarge` once it passes ``cap`` bytes."""
    declared = resp.content_length
    if declared is not None and declared > cap and not resp.headers.get("Content-Encoding"):
        raise BodyTooLarge(f"{what} is {declared:,} bytes; at most {cap:,} are read")
    parts: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(_CHUNK):
        size += len(chunk)
        if size > cap:
            resp.close()  # drop the connection: the rest is never read nor inflated
            raise BodyTooLarge(f"{what} passed {cap:,} bytes (after decompression); not read")
        parts.append(chunk)
    return b"".join(parts)
