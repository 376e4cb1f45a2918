"""Access URLs fetched in batches just ahead of the files that need them.

Objects whose access method carries no inline URL need an ``/access`` call. Asking for all of
them up front would let signed URLs (CRDC's last an hour) expire before late files start; asking
one by one costs a round trip per file. The prefetcher asks, when a file needs its URL, for that
file's and the next few files' URLs in one bulk ``POST /objects/access`` (or concurrent GETs
where the server has no bulk endpoint).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from htan_cds.drs.client import DrsClient, choose_access_method
from htan_cds.drs.models import AccessURL, DrsObject
from htan_cds.errors import DrsError

BATCH = 64


class AccessPrefetcher:
    """Hands out each object's first access URL, fetching them ``batch`` at a time in the order
    the engine will need them."""

    def __init__(self, client: DrsClient, ordered: Sequence[DrsObject], batch: int = BATCH) -> None:
        self.client = client
        self.batch = batch
        self._order = [o for o in ordered if _needs_call(o)]
        self._position = {o.id: i for i, o in enumerate(self._order)}
        self._cache: dict[str, AccessURL | DrsError] = {}
        self._asked: set[str] = set()
        self._lock = asyncio.Lock()
        self.batches = 0

    async def first_url(self, obj: DrsObject) -> AccessURL:
        """The URL to start fetching ``obj`` with."""
        if obj.id not in self._position:
            return await self.client.access_url(obj)
        async with self._lock:
            if obj.id not in self._cache:
                start = self._position[obj.id]
                batch = [obj]
                for other in self._order[start + 1 :]:
                    if len(batch) >= self.batch:
                        break
                    if other.id not in self._asked:
                        batch.append(other)
                self._asked.update(o.id for o in batch)
                self.batches += 1
                self._cache.update(await self.client.access_urls_bulk(batch))
            result = self._cache.pop(obj.id, None)
        if result is None:
            return await self.client.access_url(obj)
        if isinstance(result, DrsError):
            raise result
        return result


def _needs_call(obj: DrsObject) -> bool:
    method = choose_access_method(obj)
    return method is not None and method.access_url is None and bool(method.access_id)
