"""Rendered tiles (encoded JPEG/PNG bodies) kept for re-use: a viewer asks for the same tiles
again whenever the user pans back or zooms out and in, and a shared view is opened by several
people. The IIIF service looks a tile up only *after* the request passed the object's access
check, and the key names the object and its content, so a tile is only ever served to a caller
allowed to read that object (``server/iiif_routes.py``).

The cache is an LRU bounded both by the bytes of the bodies it holds and by their number
(:data:`TILE_CACHE_BYTES`, :data:`TILE_CACHE_ENTRIES`); a body larger than an eighth of the
budget is not kept (a big ``full/max`` render would evict hundreds of tiles).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

TILE_CACHE_BYTES = 32 * 1024 * 1024  # ~5,000 typical 256 x 256 JPEG tiles (5-8 KiB each)
TILE_CACHE_ENTRIES = 4096


class TileCache:
    """A thread-safe LRU of encoded tiles: ``key -> bytes``, bounded in bytes and entries."""

    def __init__(self, budget: int = TILE_CACHE_BYTES, entries: int = TILE_CACHE_ENTRIES) -> None:
        self.budget = budget
        self.max_entries = entries
        self.used = 0
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable) -> bytes | None:
        """The body kept under ``key`` (now the most recently used), or None."""
        with self._lock:
            body = self._items.get(key)
            if body is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return body

    def put(self, key: Hashable, body: bytes) -> bool:
        """Keep ``body`` under ``key``, evicting the least recently used past the bounds.
        Returns False when the body is too large to keep."""
        if len(body) > self.budget // 8 or self.max_entries < 1:
            return False
        with self._lock:
            old = self._items.pop(key, None)
            self.used -= 0 if old is None else len(old)
            self._items[key] = body
            self.used += len(body)
            while self.used > self.budget or len(self._items) > self.max_entries:
                _, dropped = self._items.popitem(last=False)
                self.used -= len(dropped)
        return True

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.used = 0
