"""Redirects followed by hand, so credentials never follow a redirect to another origin.

aiohttp (3.14, ``ClientSession._request``) drops ``Authorization`` when a redirect changes the
origin, but keeps every other header (an AccessURL's own headers, e.g. ``X-Api-Key``) and, for
307/308, the request body (where DRS 1.5 puts passports). Here every hop is one request with
``allow_redirects=False``: a same-origin hop keeps headers and body; a cross-origin hop keeps only
the headers in ``portable`` (``Range``…) and may never repeat a body.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any
from urllib.parse import urljoin

import aiohttp

from htan_cds.errors import DrsError
from htan_cds.net.origins import origin

REDIRECT_STATUS = frozenset({301, 302, 303, 307, 308})
MAX_HOPS = 8
PORTABLE_HEADERS = frozenset({"range", "accept", "accept-encoding", "user-agent"})


@contextlib.asynccontextmanager
async def follow_redirects(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    json: Any = None,
    portable: Iterable[str] = PORTABLE_HEADERS,
    max_hops: int = MAX_HOPS,
    **kw: Any,
) -> AsyncIterator[aiohttp.ClientResponse]:
    """Like ``session.request(...)`` as a context manager, with credential-safe redirects.

    Raises :class:`DrsError` when a request with a body is redirected to another origin (the
    body is not sent there) or after ``max_hops`` redirects.
    """
    keep = {h.lower() for h in portable}
    start = origin(url)
    current = dict(headers or {})
    body = json
    hops = 0
    while True:
        resp = await session.request(
            method, url, headers=current, json=body, allow_redirects=False, **kw
        )
        location = resp.headers.get("Location")
        if resp.status not in REDIRECT_STATUS or not location:
            break
        resp.release()
        hops += 1
        if hops > max_hops:
            raise DrsError(f"{method} {start}: more than {max_hops} redirects")
        target = urljoin(url, location)
        if not target.startswith(("http://", "https://")):
            raise DrsError(f"{method} {start}: redirected to a non-http(s) URL")
        if resp.status == 303 or (resp.status in (301, 302) and method == "POST"):
            method, body = "GET", None
        if origin(target) != origin(url):
            if body is not None:
                raise DrsError(
                    f"{method} {start}: redirected to another host; the request body "
                    "(which may hold passports) is not sent there"
                )
            current = {k: v for k, v in current.items() if k.lower() in keep}
        url = target
    try:
        yield resp
    finally:
        resp.release()
