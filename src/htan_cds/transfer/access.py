"""Access URLs fetched in batches just ahead of the files that need them.

Objects whose access method carries no inline URL need an ``/access`` call. Asking for all of
them up front would let signed URLs (CRDC's last an hour) expire before late files start; asking
one by one costs a round trip per file. The prefetcher asks, when a file needs its URL, for that
file's and the next few files' URLs in one bulk ``POST /objects/access`` (or concurrent GETs
where the server has no bulk endpoint). Objects are loaded on demand so that a huge import never
holds every resolved object in memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from htan_cds.drs.access_methods import RouteKind
from htan_cds.drs.client import DrsClient
from htan_cds.drs.models import AccessURL, DrsObject
from htan_cds.errors import DrsError

BATCH = 64


def needs_access_call(client: DrsClient, obj: DrsObject) -> bool:
    """True when the object's first route is an ``/access`` call."""
    found, _ = client.routes(obj)
    return bool(found) and found[0].kind is RouteKind.ACCESS_ID


class AccessPrefetcher:
    """Hands out each object's first access URL, fetching them ``batch`` at a time in the order
    the engine will need them (``keys``; ``load`` returns the object of a key)."""

    def __init__(
        self,
        client: DrsClient,
        keys: Sequence[str],
        load: Callable[[str], DrsObject | None],
        batch: int = BATCH,
    ) -> None:
        self.client = client
        self.batch = batch
        self._keys = list(keys)
        self._load = load
        self._position = {k: i for i, k in enumerate(self._keys)}
        self._scan = 0
        self._cache: dict[str, AccessURL | DrsError] = {}
        self._asked: set[str] = set()
        self._lock = asyncio.Lock()
        self.batches = 0

    async def first_url(self, key: str, obj: DrsObject) -> AccessURL:
        """The URL to start fetching ``obj`` (known as ``key``) with."""
        if key not in self._position or not needs_access_call(self.client, obj):
            return await self.client.access_url(obj)
        async with self._lock:
            if key not in self._cache:
                await self._fetch_batch(key, obj)
            result = self._cache.pop(key, None)
        if result is None:
            return await self.client.access_url(obj)
        if isinstance(result, DrsError):
            raise result
        return result

    async def _fetch_batch(self, key: str, obj: DrsObject) -> None:
        batch: list[tuple[str, DrsObject]] = [(key, obj)]
        self._asked.add(key)
        i = max(self._scan, self._position[key] + 1)
        while i < len(self._keys) and len(batch) < self.batch:
            other = self._keys[i]
            i += 1
            if other in self._asked:
                continue
            loaded = self._load(other)
            if loaded is not None and needs_access_call(self.client, loaded):
                batch.append((other, loaded))
                self._asked.add(other)
        self._scan = i
        self.batches += 1
        urls = await self.client.access_urls_bulk([o for _, o in batch])
        for k, o in batch:
            found = urls.get(o.id)
            if found is not None:
                self._cache[k] = found
