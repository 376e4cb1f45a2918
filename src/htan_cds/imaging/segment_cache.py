"""Decoded segments (tiles, strips) kept for re-use across requests and readers.

A viewer re-asks the same tiles whenever a colour or a range changes, and neighbouring output
tiles share source tiles when tile sizes differ; the cache is one LRU for the whole process,
bounded by the bytes of the arrays it holds (:data:`SEGMENT_CACHE_BYTES`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import numpy.typing as npt

SEGMENT_CACHE_BYTES = 128 * 1024 * 1024


class SegmentCache:
    """A thread-safe LRU of decoded segments, bounded by the bytes of the arrays it holds."""

    def __init__(self, budget: int = SEGMENT_CACHE_BYTES) -> None:
        self.budget = budget
        self.used = 0
        self._items: OrderedDict[tuple[int, int, int], npt.NDArray[Any] | None] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[int, int, int]) -> tuple[bool, npt.NDArray[Any] | None]:
        """(hit, value): a hit may hold None, an empty segment."""
        with self._lock:
            if key not in self._items:
                return False, None
            self._items.move_to_end(key)
            return True, self._items[key]

    def put(self, key: tuple[int, int, int], value: npt.NDArray[Any] | None) -> None:
        size = 0 if value is None else int(value.nbytes)
        if size > self.budget // 4:
            return
        with self._lock:
            old = self._items.pop(key, None)
            self.used -= 0 if old is None else int(old.nbytes)
            self._items[key] = value
            self.used += size
            while self.used > self.budget and self._items:
                _, dropped = self._items.popitem(last=False)
                self.used -= 0 if dropped is None else int(dropped.nbytes)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.used = 0


SEGMENTS = SegmentCache()
